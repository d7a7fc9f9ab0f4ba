#!/usr/bin/env bash
# README command 1: installs what is missing, builds tenderd, tender and guarantee-sim (release
# preset), starts the private PostgreSQL cluster under var/pg, tenderd and the guarantee issuer
# simulator, then plays the demo story (`tender demo`, docs/HALL.md "Demo"): a sandbox tender
# with simulated bidders through a whole remote bid opening. It prints the hall's URL first (open
# it in a browser to watch live) and the path of the signed opening record at the end, then keeps
# serving. Runs in the foreground: Ctrl-C stops everything, leaving no process behind.
#
#   deploy/run.sh           build, run and play the demo
#   deploy/run.sh --no-demo build and run without the demo
#   deploy/run.sh stop      stop a run started from another terminal (or left behind)
#   deploy/run.sh --help
#
# Environment: TENDERD_LISTEN_PORT (default 8080) and any other TENDERD_* key override
# deploy/config/tenderd.conf; DEMO_BIDDERS (default 30) and DEMO_PAUSE (seconds before the
# decryption window opens, default 10) shape the demo. Demo files live under var/demo.
# TENDERHALL_BUILD_DIR=DIR runs the binaries of an already-built tree (any preset) instead of
# building the release preset (tests/deploy uses it to run this script from a private checkout).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# ccache: hash paths relative to the checkout so clones at other paths share the cache, and keep
# the cache inside the build tree when there is no home directory to hold it.
export CCACHE_BASEDIR="$root"
if [ -z "${CCACHE_DIR:-}" ] && [ -z "${HOME:-}" ]; then export CCACHE_DIR="$root/build/.ccache"; fi
pidfile="$root/var/run/tenderd.pid"
logfile="$root/var/log/tenderd.log"
sim_pidfile="$root/var/run/guarantee-sim.pid"
sim_logfile="$root/var/log/guarantee-sim.log"
sim_portfile="$root/var/run/guarantee-sim.port"
demo_pidfile="$root/var/run/demo.pid"

say() { echo "run.sh: $*"; }

# Stops the process in pidfile $1 (name $2): SIGTERM, up to 15 s, then SIGKILL.
stop_pid() {
  local pid
  [ -f "$1" ] || return 0
  pid=$(cat "$1")
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping $2 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "$2 did not stop in 15 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$1"
}

stop_all() {
  touch "$root/var/run/stopping" 2>/dev/null || true
  stop_pid "$demo_pidfile" "the demo"
  stop_pid "$sim_pidfile" guarantee-sim
  rm -f "$sim_portfile"
  stop_pid "$pidfile" tenderd
  deploy/pg.sh stop
  rm -f "$root/var/run/stopping"
}

demo=1
case "${1:-}" in
  stop) stop_all; exit 0 ;;
  -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  --no-demo) demo=0 ;;
  "") ;;
  *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

deploy/install-deps.sh
build_dir=${TENDERHALL_BUILD_DIR:-}
if [ -z "$build_dir" ]; then
  say "building (release preset; the first build takes a few minutes)"
  cmake --preset release >/dev/null
  cmake --build --preset release --target tenderd tender guarantee-sim
  build_dir="$root/build/release"
fi
tenderd="$build_dir/server/tenderd"
tender="$build_dir/client-sdk/tender"
guarantee_sim="$build_dir/tools/guarantee-sim/guarantee-sim"

if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  say "tenderd is already running (pid $(cat "$pidfile")); stop it with: deploy/run.sh stop"
  exit 1
fi

deploy/pg.sh start
mkdir -p "$root/var/run" "$root/var/log"
rm -f "$root/var/run/stopping"
port=${TENDERD_LISTEN_PORT:-8080}
export TENDERD_LISTEN_PORT=$port
TENDERD_DATABASE_CONNINFO=$(deploy/pg.sh conninfo)
export TENDERD_DATABASE_CONNINFO
export TENDERD_STORAGE_DATA_DIR=${TENDERD_STORAGE_DATA_DIR:-$root/var/data}
trap 'echo; stop_all; exit 0' INT TERM

# Its own session: a Ctrl-C reaches only this script, which then stops tenderd exactly once
# (a second signal would make tenderd stop at once instead of gracefully).
setsid "$tenderd" --config deploy/config/tenderd.conf 2>>"$logfile" &
echo $! > "$pidfile"
url="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
  if curl -fsS "$url/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    say "tenderd exited; last lines of $logfile:"
    tail -n 20 "$logfile"
    deploy/pg.sh stop
    exit 1
  fi
  sleep 0.2
done

# The guarantee issuer simulator (docs/GUARANTEES.md), with a signing key kept under var/demo so
# that a rerun signs as the same issuer. Its own session too, for the same reason as tenderd.
mkdir -p "$root/var/demo/bank"
bank_key="$root/var/demo/bank/bank-signing.pem"
if [ ! -f "$bank_key" ]; then
  "$tender" keygen --suite sodium --name bank --out-dir "$root/var/demo/bank" >/dev/null
fi
rm -f "$sim_portfile"
setsid "$guarantee_sim" --issuer demo-bank --kind bank --key "$bank_key" --port 0 \
  --port-file "$sim_portfile" --platform "$url" --state "$root/var/demo/bank/state.json" \
  2>>"$sim_logfile" &
echo $! > "$sim_pidfile"
sim_url=""
for _ in $(seq 1 100); do
  if [ -s "$sim_portfile" ]; then
    sim_url="http://127.0.0.1:$(cat "$sim_portfile")"
    if curl -fsS "$sim_url/healthz" >/dev/null 2>&1; then break; fi
  fi
  if ! kill -0 "$(cat "$sim_pidfile")" 2>/dev/null; then
    say "guarantee-sim exited; last lines of $sim_logfile:"
    tail -n 20 "$sim_logfile"
    stop_all
    exit 1
  fi
  sleep 0.1
done

cat <<TXT

  tenderhall is running.
    server         $url
    health         curl $url/healthz
    readiness      curl $url/readyz
    status         $tender --server $url status
    logs           $logfile (JSON lines)
    database       psql "$(deploy/pg.sh conninfo)"
    guarantee-sim  $sim_url (issuer demo-bank, docs/GUARANTEES.md; log $sim_logfile)

  Ctrl-C here (or deploy/run.sh stop from another terminal) stops tenderd, guarantee-sim and
  PostgreSQL.

TXT
"$tender" --server "$url" status || true

if [ "$demo" = 1 ]; then
  # The demo's administrator: a key made once under var/demo/admin with its own user id, and
  # registered with `tenderd admin create-admin` (docs/OPERATIONS.md); on a database that has it
  # already, create-admin answers identity.exists and the existing user is used.
  admin_dir="$root/var/demo/admin"
  mkdir -p "$admin_dir"
  if [ ! -f "$admin_dir/admin-signing.pem" ] || [ ! -s "$admin_dir/user-id" ]; then
    rm -f "$admin_dir"/admin-*
    "$tender" keygen --suite sodium --name admin --out-dir "$admin_dir" >/dev/null
    echo "demo-admin-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')" > "$admin_dir/user-id"
  fi
  admin_user=$(cat "$admin_dir/user-id")
  if ! created=$("$tenderd" admin create-admin --config deploy/config/tenderd.conf \
      --org-name Tenderhall --user-id "$admin_user" --name "Demo administrator" \
      --public-key "$admin_dir/admin-signing.pub.pem" 2>&1); then
    if ! grep -q identity.exists <<<"$created"; then
      say "cannot create the demo's administrator:"
      echo "$created"
      stop_all
      exit 1
    fi
  fi
  say "playing the demo (tender demo, docs/HALL.md \"Demo\"); --no-demo skips it"
  demo_start=$(date +%s)
  # In the background so that `deploy/run.sh stop` (and Ctrl-C, through the trap) can end it.
  "$tender" --server "$url" demo --admin-user "$admin_user" \
    --admin-key "$admin_dir/admin-signing.pem" --guarantee-sim "$sim_url" \
    --bidders "${DEMO_BIDDERS:-30}" --pause "${DEMO_PAUSE:-10}" --out "$root/var/demo" &
  echo $! > "$demo_pidfile"
  if wait "$(cat "$demo_pidfile")"; then
    say "the demo finished in $(( $(date +%s) - demo_start )) s; tenderd keeps serving"
  elif [ ! -f "$root/var/run/stopping" ]; then
    say "the demo failed (see above and $logfile); tenderd keeps serving"
  fi
  rm -f "$demo_pidfile"
  if [ ! -f "$root/var/run/stopping" ]; then
    echo
    say "Ctrl-C (or deploy/run.sh stop) stops tenderd, guarantee-sim and PostgreSQL"
  fi
fi
# Wait for tenderd; a Ctrl-C lands in the trap above.
wait "$(cat "$pidfile" 2>/dev/null || echo 0)" 2>/dev/null || true
sleep 0.5
if [ -f "$root/var/run/stopping" ] || [ ! -f "$pidfile" ]; then
  say "stopped by deploy/run.sh stop"
  exit 0
fi
if [ -f "$pidfile" ]; then
  say "tenderd exited on its own; see $logfile"
  rm -f "$pidfile"
  stop_all
  exit 1
fi
