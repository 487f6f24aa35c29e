#!/usr/bin/env bash
# Two Parley nodes sharing a Redis and a PostgreSQL of their own, for the cross-node end-to-end
# tests (Playwright starts this as a web server). Usage: cluster.sh PORT1 PORT2
# Everything lives in a temporary directory and is stopped on SIGTERM, SIGINT or exit.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
ports=("$1" "$2")
dir="$(mktemp -d)"
children=()

as_postgres() {
  # PostgreSQL refuses to run as root.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
[ "$(id -u)" = 0 ] && chown postgres: "$dir"

cleanup() {
  kill "${children[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  as_postgres "$pg_bin/pg_ctl" -D "$dir/pg" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 0' TERM INT

free_port() {
  # (write, not console.log: under FORCE_COLOR console.log colours numbers)
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{process.stdout.write(String(s.address().port));s.close()})'
}
redis_port="$(free_port)"
pg_port="$(free_port)"

redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
  >"$dir/redis.log" 2>&1 &
children+=($!)
as_postgres "$pg_bin/initdb" -D "$dir/pg" -A trust -U parley -E UTF8 --locale=C --no-sync >/dev/null
as_postgres "$pg_bin/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w start \
  -o "-p $pg_port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" >/dev/null \
  || { cat "$dir/pg.log" >&2; exit 1; }
as_postgres "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U parley parley

export PARLEY_REDIS_URL="redis://127.0.0.1:$redis_port"
export PARLEY_DATABASE_URL="postgres://parley@127.0.0.1:$pg_port/parley"
for port in "${ports[@]}"; do
  PARLEY_LISTEN="127.0.0.1:$port" LEPTOS_SITE_ADDR="127.0.0.1:$port" PARLEY_DATA_DIR="$dir/data-$port" \
    "$root/target/release/parley" &
  children+=($!)
done
wait
