#!/usr/bin/env bash
# API throughput of tenderd next to nginx, measured in one run on this machine (issue 4,
# acceptance 8). Run by hand, as root, on an otherwise idle machine:
#
#   bench/api_bench.sh [--duration SECONDS] [--connections N] [--threads N]
#
# It installs wrk and nginx-light if missing, builds the release preset, starts a throwaway
# PostgreSQL cluster and tenderd on it, bootstraps an administrator, and then runs wrk against:
#   1. nginx serving a static file of the same size as the authenticated answer (the baseline);
#   2. GET /api/v1/me with a bearer token (an authenticated read: token lookup in PostgreSQL);
#   3. POST /api/v1/orgs with a fresh organisation id per request (each one transaction with
#      exactly one audit event: audit appends per second through the whole HTTP path).
# It prints a Markdown table for docs/BENCHMARKS.md and leaves nothing running.
set -euo pipefail

duration=10
connections=64
threads=2
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "api_bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

cmake --preset release >/dev/null
cmake --build --preset release --target tenderd tender >/dev/null
tenderd="$root/build/release/server/tenderd"
tender="$root/build/release/client-sdk/tender"

work=$(mktemp -d /tmp/tender-api-bench.XXXXXX)
chmod 755 "$work"
pg_dir="$work/pg"
cleanup() {
  [ -f "$work/tenderd.pid" ] && kill "$(cat "$work/tenderd.pid")" 2>/dev/null || true
  [ -f "$work/nginx/nginx.pid" ] && kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true
  sleep 1
  deploy/pg.sh stop --dir "$pg_dir" --remove >/dev/null 2>&1 || true
}
trap cleanup EXIT

deploy/pg.sh start --dir "$pg_dir" --port auto --throwaway >/dev/null
conninfo=$(deploy/pg.sh conninfo --dir "$pg_dir")

# The administrator: a key pair, create-admin, login.
"$tender" keygen --suite sodium --out-dir "$work/keys" --name admin >/dev/null
TENDERD_DATABASE_CONNINFO="$conninfo" "$tenderd" migrate >/dev/null
TENDERD_DATABASE_CONNINFO="$conninfo" "$tenderd" admin create-admin --org-name Bench \
  --user-id root --name "Bench Admin" --public-key "$work/keys/admin-signing.pub.pem" >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Every bench client comes from 127.0.0.1: lift the per-address and per-connection limits that
# would take it for one crowding client.
TENDERD_DATABASE_CONNINFO="$conninfo" TENDERD_LISTEN_PORT=$port TENDERD_LOG_LEVEL=warn \
  TENDERD_LIMITS_CONNECTIONS_PER_ADDRESS=1000000 TENDERD_LIMITS_CHALLENGES_PER_MINUTE=1000000 \
  TENDERD_HALL_ACT_RATE=100000 TENDERD_HALL_ACT_BURST=100000 \
  setsid "$tenderd" --config deploy/config/tenderd.conf 2>"$work/tenderd.log" &
echo $! > "$work/tenderd.pid"
url="http://127.0.0.1:$port"
for _ in $(seq 1 200); do curl -fsS "$url/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
"$tender" --server "$url" login --user root --key "$work/keys/admin-signing.pem" \
  --token-file "$work/token" >/dev/null
token=$(cat "$work/token")
me=$(curl -fsS -H "Authorization: Bearer $token" "$url/api/v1/me")

# nginx with a static file of the same size as the /api/v1/me answer.
mkdir -p "$work/nginx/html" "$work/nginx/logs"
printf '%s' "$me" > "$work/nginx/html/me.json"
nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/nginx/html;
    location / { default_type application/json; }
  }
}
CONF
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf"
sleep 0.5

cat > "$work/create_org.lua" <<'LUA'
-- One new organisation per request: each is a transaction with exactly one audit event. init()
-- runs in every wrk thread's own Lua state: seed it apart so two threads never make the same id.
local counter = 0
local prefix = ""
init = function(args)
  local addr = tonumber((tostring({}):match("0x(%x+)")) or "0", 16)
  math.randomseed(os.time() + addr % 1000003)
  prefix = string.format("%x%x", math.random(1, 0x7fffffff), addr % 0xffffff)
end
request = function()
  counter = counter + 1
  local id = string.format("bench-%s-%d", prefix, counter)
  local body = string.format('{"id":"%s","kind":"bidder","name":"Bench %s"}', id, id)
  return wrk.format("POST", "/api/v1/orgs", nil, body)
end
LUA

run_wrk() {  # name, extra args...
  local name=$1; shift
  wrk -t"$threads" -c"$connections" -d"${duration}s" --latency "$@" > "$work/$name.txt"
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec/ {print $2}' "$work/$name.txt")
  p50=$(awk '$1=="50%" {print $2}' "$work/$name.txt")
  p99=$(awk '$1=="99%" {print $2}' "$work/$name.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/$name.txt")
  echo "$name ${rps:-0} ${p50:-?} ${p99:-?} ${non2xx:-0}"
}

echo "warming up..." >&2
wrk -t1 -c4 -d2s "http://127.0.0.1:$nginx_port/me.json" >/dev/null
wrk -t1 -c4 -d2s -H "Authorization: Bearer $token" "$url/api/v1/me" >/dev/null

results=()
results+=("$(run_wrk nginx_static "http://127.0.0.1:$nginx_port/me.json")")
results+=("$(run_wrk tenderd_me -H "Authorization: Bearer $token" "$url/api/v1/me")")
before=$(psql "$conninfo" -Atc "SELECT count(*) FROM audit_events")
results+=("$(run_wrk tenderd_audit_append -H "Authorization: Bearer $token" \
  -H "Content-Type: application/json" -s "$work/create_org.lua" "$url")")
after=$(psql "$conninfo" -Atc "SELECT count(*) FROM audit_events")
orgs=$(psql "$conninfo" -Atc "SELECT count(*) FROM organisations WHERE id LIKE 'bench-%'")

base=$(echo "${results[0]}" | awk '{print $2}')
cores=$(nproc)
ram=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)
cpu=$(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//')
echo
echo "Machine: $cores cores ($cpu), $ram; wrk -t$threads -c$connections -d${duration}s on loopback;"
echo "tenderd release build, io.threads and database.pool_size from deploy/config/tenderd.conf."
echo
echo "| what | requests/s | p50 | p99 | non-2xx | ratio to nginx |"
echo "|---|---|---|---|---|---|"
for r in "${results[@]}"; do
  set -- $r
  ratio=$(awk -v a="$2" -v b="$base" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "?" }')
  echo "| $1 | $2 | $3 | $4 | $5 | $ratio |"
done
echo
echo "audit events appended during the append run: $((after - before)) (organisations created: $orgs)"
