#!/usr/bin/env bash
# Start a throwaway PostgreSQL 15 cluster for the tests (PEERS.md): trust auth, loopback only,
# in DIR. Prints the connection URL on stdout. Stop it with: pg_ctl -D DIR stop (as postgres).
#   usage: scripts/pg-throwaway.sh DIR PORT
set -euo pipefail
dir=$1; port=$2
bin=/usr/lib/postgresql/15/bin
mkdir -p "$dir"; chown postgres "$dir"
run() { if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
run "$bin/initdb -D '$dir/data' -A trust -U postgres >'$dir/initdb.log' 2>&1"
run "$bin/pg_ctl -D '$dir/data' -l '$dir/server.log' -w -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on\" start >/dev/null"
echo "postgres://postgres@127.0.0.1:$port/postgres"
