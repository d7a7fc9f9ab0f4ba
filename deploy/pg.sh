#!/usr/bin/env bash
# Private PostgreSQL 15 cluster for tenderhall: the embedded default (under var/pg) and the
# throwaway clusters of the test suite (under the build tree).
#
#   deploy/pg.sh start  [--dir DIR] [--port N|auto] [--throwaway]
#   deploy/pg.sh stop   [--dir DIR] [--remove]
#   deploy/pg.sh status [--dir DIR]
#   deploy/pg.sh conninfo [--dir DIR]
#
# The cluster belongs to the `postgres` system user (PostgreSQL refuses to run as root), listens
# only on a Unix socket in DIR/sock (no TCP), and is reached with the connection string written to
# DIR/conninfo. Every command is idempotent: starting a running cluster or stopping a stopped one
# succeeds and changes nothing.
set -euo pipefail

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'TXT'

Options:
  --dir DIR      cluster directory (default: var/pg in the checkout)
  --port N|auto  port number, which names the Unix socket (default 54329; auto picks a free one)
  --throwaway    tuned for tests: no fsync, no synchronous commit (data may be lost on OS crash)
  --remove       with stop: delete the cluster directory afterwards
TXT
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cmd=${1:-}
[ -n "$cmd" ] || { usage; exit 2; }
shift
dir="$root/var/pg"
port=54329
throwaway=0
remove=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --throwaway) throwaway=1; shift ;;
    --remove) remove=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "pg.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

pgbin=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)
if [ -z "$pgbin" ] && [ "$cmd" != "--help" ]; then
  echo "pg.sh: PostgreSQL 15 is not installed (apt-get install postgresql-15, or run deploy/install-deps.sh)" >&2
  exit 1
fi

log() { echo "pg.sh: $*" >&2; }
# From /: the caller's working directory may be one postgres cannot enter.
as_postgres() { (cd / && runuser -u postgres -- "$@"); }

if [ "$cmd" = start ]; then mkdir -p "$dir"; fi
if [ -d "$dir" ]; then dir=$(cd "$dir" && pwd); fi

# Where the postgres user keeps the cluster: DIR itself when postgres can reach it, otherwise a
# directory of its own under /var/lib/tenderhall. A checkout under /root (mode 0700), or a --dir
# made by `mktemp -d`, cannot be entered by postgres, so initdb, pg_ctl, the server's log and its
# socket all move there; DIR keeps what root reads (port, conninfo) and links to the data and the
# log for people. The choice is written to DIR/pg-home at start so every later command (stop,
# status, --remove) uses the same place even if permissions change in between.
alt_home="/var/lib/tenderhall/$(printf '%s' "$dir" | sha1sum | cut -c1-16)"
pg_home() {
  if [ -f "$dir/pg-home" ]; then
    cat "$dir/pg-home"
  elif [ -d "$dir" ] && as_postgres test -x "$dir"; then
    printf '%s' "$dir"
  elif [ -d "$alt_home" ]; then
    printf '%s' "$alt_home"
  else
    printf '%s' "$dir"
  fi
}

# Decides the home at start (see above) and prepares it for postgres.
ensure_reachable() {
  local home=$dir
  if ! as_postgres test -x "$dir"; then
    home=$alt_home
    log "postgres cannot enter $dir (a parent directory is private); keeping the cluster in $home"
    mkdir -p "$home"
    chmod 0755 /var/lib/tenderhall
    chown postgres:postgres "$home"
    chmod 0700 "$home"
    # An earlier layout linked DIR/data to the home itself; the data now lives in home/data.
    if [ -L "$dir/data" ] && [ "$(readlink "$dir/data")" != "$home/data" ]; then rm -f "$dir/data"; fi
    [ -e "$dir/data" ] || ln -sfn "$home/data" "$dir/data"
    [ -e "$dir/log" ] || ln -sfn "$home/log" "$dir/log"
  fi
  printf '%s' "$home" > "$dir/pg-home"
}

home=$(pg_home)
data="$home/data"
logdir="$home/log"

# Unix socket paths are limited to 107 bytes; deep homes fall back to a short path in /tmp.
socket_dir() {
  local s="$home/sock"
  if [ ${#s} -gt 80 ]; then
    s="/tmp/tenderhall-pg-$(printf '%s' "$dir" | sha1sum | cut -c1-12)"
  fi
  printf '%s' "$s"
}

port_in_use() {
  local p=$1
  [ -e "$(socket_dir)/.s.PGSQL.$p" ] && return 0
  ls /tmp/.s.PGSQL."$p" /var/run/postgresql/.s.PGSQL."$p" >/dev/null 2>&1 && return 0
  (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && return 0
  return 1
}

pick_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 30000 ))
    port_in_use "$p" || { echo "$p"; return; }
  done
  log "no free port found"
  exit 1
}

running() {
  [ -f "$data/PG_VERSION" ] && as_postgres "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

write_conninfo() {
  local p
  p=$(cat "$dir/port")
  printf 'host=%s port=%s user=postgres dbname=postgres connect_timeout=3\n' "$(socket_dir)" "$p" > "$dir/conninfo"
}

start() {
  ensure_reachable
  home=$(pg_home)
  data="$home/data"
  logdir="$home/log"
  if running; then
    write_conninfo
    log "already running ($(cat "$dir/conninfo"))"
    return
  fi
  local sock
  sock=$(socket_dir)
  mkdir -p "$sock" "$logdir"
  chown postgres:postgres "$sock" "$logdir"
  chmod 0700 "$sock"
  if [ ! -f "$data/PG_VERSION" ]; then
    log "initialising a new cluster in $data"
    mkdir -p "$data"
    chown postgres:postgres "$data"
    chmod 0700 "$data"
    local sync_flag=()
    [ "$throwaway" = 1 ] && sync_flag=(--no-sync)
    as_postgres "$pgbin/initdb" -D "$data" --username=postgres --auth=trust \
      --encoding=UTF8 --locale=C.UTF-8 "${sync_flag[@]}" >"$logdir/initdb.log" 2>&1 ||
      { log "initdb failed; see $logdir/initdb.log"; tail -n 20 "$logdir/initdb.log" >&2; exit 1; }
  fi
  if [ "$port" = auto ]; then
    if [ -f "$dir/port" ] && ! port_in_use "$(cat "$dir/port")"; then
      port=$(cat "$dir/port")
    else
      port=$(pick_port)
    fi
  fi
  echo "$port" > "$dir/port"
  local conf="$data/postgresql.auto.conf"
  {
    echo "# written by deploy/pg.sh"
    echo "listen_addresses = ''"
    echo "port = $port"
    echo "unix_socket_directories = '$sock'"
    echo "max_connections = 300"
    echo "timezone = 'UTC'"
    echo "log_timezone = 'UTC'"
    if [ "$throwaway" = 1 ]; then
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
  } > "$conf"
  chown postgres:postgres "$conf"
  if ! as_postgres "$pgbin/pg_ctl" -D "$data" -l "$logdir/postgresql.log" -w -t 60 start >/dev/null; then
    log "PostgreSQL did not start; last lines of $logdir/postgresql.log:"
    tail -n 20 "$logdir/postgresql.log" >&2 || true
    exit 1
  fi
  for _ in $(seq 1 100); do
    "$pgbin/pg_isready" -q -h "$sock" -p "$port" && break
    sleep 0.1
  done
  write_conninfo
  log "running on socket $sock port $port"
  log "connect with: psql \"$(cat "$dir/conninfo")\""
}

stop() {
  if running; then
    as_postgres "$pgbin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
    log "stopped"
  else
    log "not running"
  fi
  if [ "$remove" = 1 ]; then
    local s
    s=$(socket_dir)
    if [ "$home" != "$dir" ]; then rm -rf "$home"; fi
    rm -rf "$dir"
    [[ "$s" == /tmp/tenderhall-pg-* ]] && rm -rf "$s"
    log "removed $dir"
  fi
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status)
    if running; then echo "running: $(cat "$dir/conninfo" 2>/dev/null)"; else echo "stopped"; exit 3; fi ;;
  conninfo)
    [ -f "$dir/conninfo" ] || { log "no cluster in $dir (run: deploy/pg.sh start)"; exit 1; }
    cat "$dir/conninfo" ;;
  -h|--help|help) usage ;;
  *) echo "pg.sh: unknown command '$cmd' (see --help)" >&2; exit 2 ;;
esac
