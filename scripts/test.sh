#!/usr/bin/env bash
# The one test command (README): installs what the tests need when it is missing (SIPp, Kamailio,
# baresip, PostgreSQL 15: scripts/install-peers.sh), starts a throwaway PostgreSQL cluster, builds
# the binaries, and runs every test — unit, scenario (on SQLite and PostgreSQL), bad input, and
# the interop scripts in tests/interop/. Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-peers.sh
cargo build --workspace --bins

pgdir=$(mktemp -d /tmp/corelab-pg.XXXXXX)
pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
stop_pg() { su postgres -s /bin/sh -c "/usr/lib/postgresql/15/bin/pg_ctl -D '$pgdir/data' -m immediate stop" >/dev/null 2>&1 || true; rm -rf "$pgdir"; }
trap stop_pg EXIT
CORELAB_TEST_PG_URL=$(bash scripts/pg-throwaway.sh "$pgdir" "$pgport")
export CORELAB_TEST_PG_URL CORELAB_REQUIRE_PG=1
# Tests that drive an independent decoder (pycrate, tshark) fail instead of skipping without it.
export CORELAB_REQUIRE_PEERS=1
echo "test: throwaway PostgreSQL at $CORELAB_TEST_PG_URL"

# Every PostgreSQL test is #[ignore = "needs PostgreSQL: ..."] so that a plain `cargo test` says
# "ignored", not "ok"; here PostgreSQL is up, so run them. --include-ignored runs every ignored
# test, so no test may be ignored for another reason (make it opt-in by an environment variable).
if others=$(grep -rn --include='*.rs' -E '^\s*#\[ignore' crates tests | grep -v 'needs PostgreSQL'); then
  echo "test: #[ignore] is reserved for PostgreSQL tests (scripts/test.sh runs them all):"
  echo "$others"
  exit 1
fi
cargo test --workspace -- --include-ignored

failed=0
for script in tests/interop/*.sh; do
  [ -e "$script" ] || continue
  echo "== $script"
  if ! PRESENCE_SERVER=target/debug/presence-server UE_EMULATOR=target/debug/ue-emulator \
     DIAMETER_PEER=target/debug/diameter-peer bash "$script"; then
    echo "FAILED: $script"
    failed=$((failed + 1))
  fi
done
[ "$failed" -eq 0 ] || { echo "interop: $failed script(s) failed"; exit 1; }
