#!/usr/bin/env bash
# Install the third-party peers the tests drive, when missing: SIPp, Kamailio (+ presence, SQLite
# and PostgreSQL modules), baresip, PostgreSQL 15, freeDiameter (+ extensions), tshark, kubectl,
# chromium + chromium-driver (Debian packages), python-diameter, pycrate, selenium and
# kubernetes-validate (PyPI). Idempotent and quiet.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

need=()
command -v sipp >/dev/null || need+=(sip-tester)
command -v kamailio >/dev/null || need+=(kamailio)
[ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/presence.so ] || need+=(kamailio-presence-modules)
[ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/db_sqlite.so ] || need+=(kamailio-sqlite-modules)
[ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/db_postgres.so ] || need+=(kamailio-postgres-modules)
command -v baresip >/dev/null || need+=(baresip)
command -v sqlite3 >/dev/null || need+=(sqlite3)
# The `diameter` crate (cross-decode dev-dependency) builds openssl-sys.
dpkg -s libssl-dev >/dev/null 2>&1 || need+=(libssl-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
# Diameter: freeDiameter daemon + extensions (dict_dcca_3gpp, rt_default, acl_wl, ...), tshark as decoder oracle.
command -v freeDiameterd >/dev/null || need+=(freediameterd)
[ -e /usr/lib/freeDiameter/dict_dcca_3gpp.fdx ] || need+=(freediameter-extensions)
# Headless Chromium and its WebDriver: the lab console's browser test (tests/interop/console-chromium.sh).
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
# kubectl (its built-in kustomize renders deploy/ for tests/interop/k8s-manifests.sh).
command -v kubectl >/dev/null || need+=(kubernetes-client)
if ! command -v tshark >/dev/null; then
  need+=(tshark)
  # Do not ask (or install) the setuid dumpcap question; the tests run as root.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "install-peers: installing ${need[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    2> >(grep -v 'delaying package configuration' >&2)
fi
# python-diameter (PyPI, MIT): an independent application-level Diameter node (Gx/Rx client and server).
if ! python3 -c 'import diameter.node' >/dev/null 2>&1; then
  echo "install-peers: installing python-diameter (pip)"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore 'python-diameter==0.9.*' >/dev/null
fi
# pycrate (PyPI, LGPL-2.1): an independent NAS-5GS decoder (crates/nas/tests/pycrate_check.py).
if ! python3 -c 'import pycrate_mobile.NAS5G' >/dev/null 2>&1; then
  echo "install-peers: installing pycrate (pip)"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore 'pycrate==0.8.*' >/dev/null
fi
# Selenium (PyPI, Apache-2.0): drives chromedriver in tests/interop/console-chromium.sh.
if ! python3 -c 'import selenium' >/dev/null 2>&1; then
  echo "install-peers: installing selenium (pip)"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore 'selenium==4.*' >/dev/null
fi
# kubernetes-validate (PyPI, Apache-2.0): the Kubernetes API schemas, to check deploy/k8s offline.
if ! command -v kubernetes-validate >/dev/null; then
  echo "install-peers: installing kubernetes-validate (pip)"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore 'kubernetes-validate==1.37.*' >/dev/null
fi
# The Debian package may start a system Kamailio on 5060 when it is installed; the tests run their
# own. Only a Kamailio this run just installed is stopped: never someone else's running one.
if [[ " ${need[*]} " == *" kamailio "* ]]; then
  if command -v systemctl >/dev/null && systemctl is-active --quiet kamailio 2>/dev/null; then
    systemctl stop kamailio || true
  fi
  [ -s /run/kamailio/kamailio.pid ] && kill "$(cat /run/kamailio/kamailio.pid)" 2>/dev/null || true
fi
echo "install-peers: sipp $(sipp -v 2>/dev/null | grep -o 'v[0-9.]*' | head -1), kamailio $(kamailio -v 2>/dev/null | head -1 | awk '{print $3}'), baresip present: $(command -v baresip >/dev/null && echo yes)"
echo "install-peers: $(freeDiameterd --version 2>/dev/null | head -1), $(tshark --version 2>/dev/null | head -1 | cut -d' ' -f1-3), python-diameter $(python3 -c 'import importlib.metadata as m; print(m.version("python-diameter"))' 2>/dev/null), pycrate $(python3 -c 'import importlib.metadata as m; print(m.version("pycrate"))' 2>/dev/null)"
