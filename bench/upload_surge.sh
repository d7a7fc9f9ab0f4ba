#!/usr/bin/env bash
# A deadline surge of sealed-bid uploads (issue 5, acceptance 5), next to nginx in the same run.
# Run by hand, as root, on an otherwise idle machine:
#
#   bench/upload_surge.sh [--files N] [--mib S] [--big-gib G] [--concurrency C] [--piece-mib P]
#                         [--no-build]
#
# Defaults: 500 files of 20 MiB, all 500 in flight at once, requests of 8 MiB, plus one 2 GiB file
# (--big-gib 0 to skip it). It installs nginx-light if missing, builds the release preset (unless
# --no-build), starts a throwaway PostgreSQL cluster, tenderd (deploy/config/tenderd.conf: 2 I/O
# threads, 4 database connections) with its data directory under the work directory, and nginx (2
# workers) storing every request body to a file (client_body_in_file_only) before answering 204
# through a second server block. Then build/release/bench/upload_surge_bench creates the bidders,
# seals their files and uploads them to nginx and to tenderd (see that program's header), and
# prints a Markdown table for docs/BENCHMARKS.md. It leaves nothing running and removes its work
# directory.
set -euo pipefail

files=500
mib=20
big_gib=2
concurrency=0
piece_mib=8
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --files) files=$2; shift 2 ;;
    --mib) mib=$2; shift 2 ;;
    --big-gib) big_gib=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --piece-mib) piece_mib=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "upload_surge.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light >/dev/null
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

if [ "$build" = 1 ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target tenderd tender upload_surge_bench >/dev/null
fi
tenderd="$root/build/release/server/tenderd"
tender="$root/build/release/client-sdk/tender"
bench="$root/build/release/bench/upload_surge_bench"

work=$(mktemp -d /tmp/tender-upload-surge.XXXXXX)
chmod 755 "$work"

# Disk: the sealed files and tenderd's copies (blobs are kept), plus nginx's body files (each
# removed when its request ends: at most one request of each upload in flight) and a margin.
# Sealed files are ~0.02 % larger than their body.
inflight=$files
[ "$concurrency" != 0 ] && [ "$concurrency" -lt "$files" ] && inflight=$concurrency
need_mib=$(( (files * mib + big_gib * 1024) * 2 + inflight * (piece_mib < mib ? piece_mib : mib) + 1024 ))
avail_mib=$(df -Pm "$work" | awk 'NR==2 {print $4}')
if [ "$avail_mib" -lt "$need_mib" ]; then
  echo "upload_surge.sh: $files × $mib MiB (+ $big_gib GiB) needs about $need_mib MiB under /tmp, only $avail_mib MiB free;" >&2
  echo "  choose fewer or smaller files (--files, --mib, --big-gib)" >&2
  rm -rf "$work"
  exit 1
fi

pg_dir="$work/pg"
cleanup() {
  [ -f "$work/tenderd.pid" ] && kill "$(cat "$work/tenderd.pid")" 2>/dev/null || true
  [ -f "$work/nginx/nginx.pid" ] && kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true
  sleep 1
  deploy/pg.sh stop --dir "$pg_dir" --remove >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

deploy/pg.sh start --dir "$pg_dir" --port auto --throwaway >/dev/null
conninfo=$(deploy/pg.sh conninfo --dir "$pg_dir")
"$tender" keygen --suite sodium --out-dir "$work/keys" --name admin >/dev/null
TENDERD_DATABASE_CONNINFO="$conninfo" "$tenderd" migrate >/dev/null
TENDERD_DATABASE_CONNINFO="$conninfo" "$tenderd" admin create-admin --org-name Bench \
  --user-id root --name "Bench Admin" --public-key "$work/keys/admin-signing.pub.pem" >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
# Every bench client comes from 127.0.0.1: lift the per-address and per-connection limits that
# would take it for one crowding client.
TENDERD_DATABASE_CONNINFO="$conninfo" TENDERD_LISTEN_PORT=$port TENDERD_LOG_LEVEL=warn \
  TENDERD_LIMITS_CONNECTIONS_PER_ADDRESS=1000000 TENDERD_LIMITS_CHALLENGES_PER_MINUTE=1000000 \
  TENDERD_HALL_ACT_RATE=100000 TENDERD_HALL_ACT_BURST=100000 \
  TENDERD_STORAGE_DATA_DIR="$work/data" \
  setsid "$tenderd" --config deploy/config/tenderd.conf 2>"$work/tenderd.log" &
echo $! > "$work/tenderd.pid"
url="http://127.0.0.1:$port"
for _ in $(seq 1 200); do curl -fsS "$url/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

# nginx: server 1 reads each body into a file (kept until the request ends) and then asks server 2
# for the answer without the body; server 2 answers 204.
mkdir -p "$work/nginx/logs" "$work/nginx/body"
nginx_port=$(free_port)
backend_port=$(free_port)
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_max_body_size 0;
  client_body_temp_path $work/nginx/body;
  client_body_in_file_only clean;
  server {
    listen 127.0.0.1:$nginx_port backlog=4096;
    location /upload/ {
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Body-File \$request_body_file;
      proxy_pass http://127.0.0.1:$backend_port/stored;
    }
  }
  server {
    listen 127.0.0.1:$backend_port;
    location / { return 204; }
  }
}
CONF
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf"
sleep 0.5

args=(--server "$url" --nginx "http://127.0.0.1:$nginx_port" --admin-key "$work/keys/admin-signing.pem"
      --tenderd-pid "$(cat "$work/tenderd.pid")" --files "$files" --mib "$mib" --big-gib "$big_gib"
      --piece-mib "$piece_mib" --dir "$work/sealed")
[ "$concurrency" != 0 ] && args+=(--concurrency "$concurrency")

cores=$(nproc)
ram=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)
cpu=$(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//')
status=0
"$bench" "${args[@]}" > "$work/table.md" || status=$?
blobs=$(find "$work/data/blobs" -type f 2>/dev/null | wc -l)
bids=$(psql "$conninfo" -Atc "SELECT count(*) FROM bids WHERE status = 'current'" 2>/dev/null || echo "?")
echo
echo "Machine: $cores cores ($cpu), $ram; $(date -u +%Y-%m-%d); loopback; client, tenderd, nginx"
echo "and PostgreSQL on the same cores. Concurrency: ${concurrency/#0/all}; requests of $piece_mib MiB."
echo
cat "$work/table.md"
echo
echo "tenderd after the run: $bids current bids, $blobs blob files."
[ "$status" = 0 ] || { echo "upload_surge.sh: some uploads failed (see above); tenderd log:" >&2; tail -20 "$work/tenderd.log" >&2; }
exit "$status"
