#!/usr/bin/env bash
# README command 1 where the postgres user cannot enter the checkout (issue 15 §0): root clones
# into a private directory (/root is mode 0700; so is any `mktemp -d`), so PostgreSQL's data,
# log and socket must live where postgres can reach them (deploy/pg.sh, "home").
#
#   tests/deploy/private_checkout_test.sh BUILD_DIR
#
# 1. A throwaway cluster whose --dir sits under a 0700 directory starts, answers a query from
#    root, stops, and --remove leaves nothing behind (neither DIR nor the home under
#    /var/lib/tenderhall).
# 2. deploy/run.sh --no-demo from a copy of the checkout inside a 0700 directory (with the
#    binaries of BUILD_DIR, through TENDERHALL_BUILD_DIR) brings tenderd to ready on its own
#    private cluster, and `deploy/run.sh stop` stops tenderd, guarantee-sim and PostgreSQL.
# Exits 77 (skipped) when not run as root: pg.sh needs root to act as postgres.
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:?usage: private_checkout_test.sh BUILD_DIR}
build=$(cd "$build" && pwd)
if [ "$(id -u)" != 0 ]; then echo "skipped: needs root"; exit 77; fi

fail() { echo "FAIL: $*" >&2; exit 1; }
private=$(mktemp -d)
chmod 0700 "$private"
checkout="$private/tenderhall"
cleanup() {
  if [ -x "$checkout/deploy/run.sh" ]; then "$checkout/deploy/run.sh" stop >/dev/null 2>&1 || true; fi
  "$src/deploy/pg.sh" stop --dir "$private/pg" --remove >/dev/null 2>&1 || true
  rm -rf "$private"
}
trap cleanup EXIT

# The premise: postgres really cannot enter the directory.
if runuser -u postgres -- test -x "$private"; then fail "postgres can enter $private; the test proves nothing"; fi

echo "== 1. throwaway cluster under a 0700 directory"
"$src/deploy/pg.sh" start --dir "$private/pg" --port auto --throwaway
home=$(cat "$private/pg/pg-home")
[ "$home" != "$private/pg" ] || fail "the cluster was kept inside the private directory"
answer=$(psql "$(cat "$private/pg/conninfo")" -Atc "SELECT 40 + 2")
[ "$answer" = 42 ] || fail "query answered '$answer'"
"$src/deploy/pg.sh" status --dir "$private/pg" | grep -q '^running' || fail "status does not say running"
"$src/deploy/pg.sh" stop --dir "$private/pg" --remove
[ ! -e "$private/pg" ] || fail "--remove left $private/pg"
[ ! -e "$home" ] || fail "--remove left $home"

echo "== 2. deploy/run.sh --no-demo from a checkout under a 0700 directory"
mkdir -p "$checkout/tests"
cp -a "$src/deploy" "$checkout/deploy"
cp -a "$src/tests/node" "$checkout/tests/node"
port=""
for _ in $(seq 1 100); do
  p=$(( 20000 + RANDOM % 30000 ))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || fail "no free port"
log="$private/run.log"
TENDERHALL_BUILD_DIR="$build" TENDERD_LISTEN_PORT=$port setsid "$checkout/deploy/run.sh" --no-demo >"$log" 2>&1 &
runner=$!
ready=0
# run.sh prints its banner once tenderd is ready and guarantee-sim answers. A limit for a broken
# run, not a measurement: it comes in seconds.
for _ in $(seq 1 1200); do
  if grep -q "tenderhall is running" "$log"; then ready=1; break; fi
  kill -0 "$runner" 2>/dev/null || break
  sleep 0.1
done
if [ "$ready" != 1 ]; then cat "$log" >&2; fail "run.sh did not report the running platform"; fi
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$log" >&2; fail "tenderd is not ready"; }
home=$(cat "$checkout/var/pg/pg-home")
case "$home" in /var/lib/tenderhall/*) ;; *) fail "the cluster home is $home" ;; esac
"$checkout/deploy/run.sh" stop
wait "$runner" || true
if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then fail "tenderd still answers after stop"; fi
if "$checkout/deploy/pg.sh" status >/dev/null 2>&1; then fail "PostgreSQL still runs after stop"; fi
"$checkout/deploy/pg.sh" stop --remove >/dev/null 2>&1
[ ! -e "$home" ] || fail "pg.sh stop --remove left $home"
echo "PASS"
