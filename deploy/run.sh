#!/usr/bin/env bash
# README command 1: installs what is missing, builds tenderd and tender (release preset), starts
# the private PostgreSQL cluster under var/pg and tenderd, and prints how to reach them. Runs in
# the foreground: Ctrl-C stops tenderd and then PostgreSQL, leaving no process behind.
#
#   deploy/run.sh           build and run
#   deploy/run.sh stop      stop a run started from another terminal (or left behind)
#   deploy/run.sh --help
#
# Environment: TENDERD_LISTEN_PORT (default 8080) and any other TENDERD_* key override
# deploy/config/tenderd.conf.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# ccache: hash paths relative to the checkout so clones at other paths share the cache, and keep
# the cache inside the build tree when there is no home directory to hold it.
export CCACHE_BASEDIR="$root"
if [ -z "${CCACHE_DIR:-}" ] && [ -z "${HOME:-}" ]; then export CCACHE_DIR="$root/build/.ccache"; fi
pidfile="$root/var/run/tenderd.pid"
logfile="$root/var/log/tenderd.log"

say() { echo "run.sh: $*"; }

stop_all() {
  touch "$root/var/run/stopping" 2>/dev/null || true
  if [ -f "$pidfile" ]; then
    local pid
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      say "stopping tenderd (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      if kill -0 "$pid" 2>/dev/null; then
        say "tenderd did not stop in 15 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
    rm -f "$pidfile"
  fi
  deploy/pg.sh stop
  rm -f "$root/var/run/stopping"
}

case "${1:-}" in
  stop) stop_all; exit 0 ;;
  -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

deploy/install-deps.sh
say "building (release preset; the first build takes a few minutes)"
cmake --preset release >/dev/null
cmake --build --preset release --target tenderd tender
tenderd="$root/build/release/server/tenderd"
tender="$root/build/release/client-sdk/tender"

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

cat <<TXT

  tenderhall is running.
    server     $url
    health     curl $url/healthz
    readiness  curl $url/readyz
    status     $tender --server $url status
    logs       $logfile (JSON lines)
    database   psql "$(deploy/pg.sh conninfo)"

  Ctrl-C here (or deploy/run.sh stop from another terminal) stops tenderd and PostgreSQL.

TXT
"$tender" --server "$url" status || true
# Wait for tenderd; a Ctrl-C lands in the trap above.
wait "$(cat "$pidfile")" 2>/dev/null || true
sleep 0.5
if [ -f "$root/var/run/stopping" ] || [ ! -f "$pidfile" ]; then
  say "stopped by deploy/run.sh stop"
  exit 0
fi
if [ -f "$pidfile" ]; then
  say "tenderd exited on its own; see $logfile"
  rm -f "$pidfile"
  deploy/pg.sh stop
  exit 1
fi
