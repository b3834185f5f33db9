#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster on loopback (DATABASE_URL is exported for it), then stop it.
# Used by `make bench` when BENCH_DATABASE_URL is not given. As root, the cluster runs as the postgres user.
set -euo pipefail
PGBIN=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
[ -x "$PGBIN/initdb" ] || PGBIN=/usr/lib/postgresql/15/bin
DIR=$(mktemp -d /tmp/ecopark-bench-pg.XXXXXX)
PORT=${BENCH_PG_PORT:-55439}
as_owner() { if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$DIR"
stop() { as_owner "$PGBIN/pg_ctl -D $DIR/data -m fast stop" >/dev/null 2>&1 || true; rm -rf "$DIR"; }
trap stop EXIT
as_owner "$PGBIN/initdb -D $DIR/data -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" >/dev/null
as_owner "$PGBIN/pg_ctl -D $DIR/data -o '-h 127.0.0.1 -p $PORT -k $DIR -c shared_buffers=1GB -c max_wal_size=4GB' -l $DIR/data/log -w start" >/dev/null
psql -h 127.0.0.1 -p "$PORT" -U postgres -qc "CREATE DATABASE ecopark_bench"
export DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/ecopark_bench"
"$@"
