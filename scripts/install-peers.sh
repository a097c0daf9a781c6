#!/usr/bin/env bash
# Install the third-party peers the tests drive, when missing: SIPp, Kamailio (+ presence, SQLite
# and PostgreSQL modules), baresip, PostgreSQL 15. Debian packages only; idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need=()
command -v sipp >/dev/null || need+=(sip-tester)
command -v kamailio >/dev/null || need+=(kamailio)
[ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/presence.so ] || need+=(kamailio-presence-modules)
[ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/db_sqlite.so ] || need+=(kamailio-sqlite-modules)
[ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/db_postgres.so ] || need+=(kamailio-postgres-modules)
command -v baresip >/dev/null || need+=(baresip)
command -v sqlite3 >/dev/null || need+=(sqlite3)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)

if [ ${#need[@]} -gt 0 ]; then
  echo "install-peers: installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The Debian package starts a system Kamailio on 5060; the tests run their own.
if command -v systemctl >/dev/null && systemctl is-active --quiet kamailio 2>/dev/null; then
  systemctl stop kamailio || true
fi
pkill -x kamailio 2>/dev/null || true
echo "install-peers: sipp $(sipp -v 2>/dev/null | grep -o 'v[0-9.]*' | head -1), kamailio $(kamailio -v 2>/dev/null | head -1 | awk '{print $3}'), baresip present: $(command -v baresip >/dev/null && echo yes)"
