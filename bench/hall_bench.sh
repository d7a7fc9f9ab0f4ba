#!/usr/bin/env bash
# Opening hall (issue 6), two parts in one run against one tenderd:
#  1. fan-out: N public viewers per hall on tenderd next to the same load on a Node.js `ws` server
#     doing only the fan-out (bench/hall_baseline.js);
#  2. whole openings on the SDK (build/release/bench/hall_opening_bench): N bidders in one hall,
#     then 100 halls of 100, from sign-in to the announcement.
# By hand:
#
#   bench/hall_bench.sh [--clients N] [--halls H] [--events E] [--bytes B] [--no-build]
#                       [--only fanout|opening] [--no-many] [--keep DIR]
#
# --no-many leaves out the 100 halls x 100 runs (for a quicker look at one big hall).
# Defaults: one hall of 10,000 viewers, then 100 halls of 100. It builds the release preset
# (unless --no-build), installs the baseline's `ws` (npm ci in bench/), starts a throwaway
# PostgreSQL cluster and tenderd (deploy/config/tenderd.conf), seeds the halls by SQL (tender rows
# and a `halls` row in phase `decrypting` with its first event: an honest shortcut, the viewers
# only read), and runs build/release/bench/hall_load_bench against tenderd (events committed as
# the hall's writers commit them: INSERT + NOTIFY) and against the baseline (events pushed by
# POST /broadcast). Prints a Markdown table for docs/BENCHMARKS.md. Leaves nothing running; with
# --keep DIR the raw JSON figures and the logs (tenderd, baseline) are copied to DIR first.
set -euo pipefail

clients=10000
halls=1
events=20
bytes=300
build=1
only=""
keep=""
many=1
while [ $# -gt 0 ]; do
  case "$1" in
    --clients) clients=$2; shift 2 ;;
    --halls) halls=$2; shift 2 ;;
    --events) events=$2; shift 2 ;;
    --bytes) bytes=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --only) only=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --no-many) many=0; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "hall_bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ "$build" = 1 ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target tenderd tender hall_load_bench hall_opening_bench >/dev/null
fi
(cd bench && npm ci --silent >/dev/null)
# The binaries can be overridden (e.g. to try another build): TENDERD, TENDER_CLI, HALL_LOAD_BENCH.
tenderd="${TENDERD:-$root/build/release/server/tenderd}"
tender="${TENDER_CLI:-$root/build/release/client-sdk/tender}"
bench="${HALL_LOAD_BENCH:-$root/build/release/bench/hall_load_bench}"
opening="${HALL_OPENING_BENCH:-$root/build/release/bench/hall_opening_bench}"
# Every connection is a file descriptor, on both sides.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d /tmp/tender-hall-bench.XXXXXX)
chmod 755 "$work"
pg_dir="$work/pg"
cleanup() {
  if [ -n "$keep" ]; then
    mkdir -p "$keep" && cp "$work"/*.json "$work"/*.log "$keep"/ 2>/dev/null || true
  fi
  [ -f "$work/tenderd.pid" ] && kill "$(cat "$work/tenderd.pid")" 2>/dev/null || true
  [ -f "$work/baseline.pid" ] && kill "$(cat "$work/baseline.pid")" 2>/dev/null || true
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

# Seed H halls: tender t-<16 hex>, state opening, hall decrypting with event 1 (`opened`).
seed() {  # $1 = number of halls, $2 = first number; prints the comma-separated tender ids
  local ids=() i id
  for i in $(seq "$2" $(($2 + $1 - 1))); do
    id=$(printf 't-%016x' $((0xbe00000000 + i)))
    ids+=("$id")
  done
  psql "$conninfo" -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
INSERT INTO tenders (id, project_code, title, kind, rule_pack, owner_org, created_by, state)
SELECT id, 'BENCH-' || n, 'Hall bench ' || n, 'works', 'sandbox', 'platform', 'root', 'published'
  FROM (SELECT unnest(ARRAY[$(printf "'%s'," "${ids[@]}" | sed 's/,$//')]) AS id,
               generate_series($2, $(($2 + $1 - 1))) AS n) s;
INSERT INTO halls (tender_id, phase, last_seq, window_opens_at, window_closes_at)
SELECT id, 'decrypting', 1, clock_timestamp(), clock_timestamp() + interval '1 hour' FROM tenders
 WHERE project_code LIKE 'BENCH-%';
INSERT INTO hall_events (tender_id, seq, kind, data)
SELECT id, 1, 'opened', '{"phase":"waiting"}' FROM tenders WHERE project_code LIKE 'BENCH-%';
SQL
  (IFS=,; echo "${ids[*]}")
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
# Every bench client comes from 127.0.0.1: lift the per-address and per-connection limits that
# would take it for one crowding client.
TENDERD_DATABASE_CONNINFO="$conninfo" TENDERD_LISTEN_PORT=$port TENDERD_LOG_LEVEL=warn \
  TENDERD_LIMITS_CONNECTIONS_PER_ADDRESS=1000000 TENDERD_LIMITS_CHALLENGES_PER_MINUTE=1000000 \
  TENDERD_HALL_ACT_RATE=100000 TENDERD_HALL_ACT_BURST=100000 \
  TENDERD_SCHEDULER_POLL_INTERVAL_MS=100 \
  TENDERD_STORAGE_DATA_DIR="$work/data" \
  setsid "$tenderd" --config deploy/config/tenderd.conf 2>"$work/tenderd.log" &
echo $! > "$work/tenderd.pid"
for _ in $(seq 1 200); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

bport=$(free_port)
setsid node bench/hall_baseline.js --port "$bport" >"$work/baseline.log" 2>&1 &
echo $! > "$work/baseline.pid"
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$bport/stats" >/dev/null 2>&1 && break; sleep 0.1; done

one_hall=$(seed 1 1)
psql "$conninfo" -q -c "UPDATE tenders SET project_code = 'BENCH1-' || id WHERE id = '$one_hall'" >/dev/null
many_halls=$(seed 100 2)

run() {  # label tenders clients-per-hall
  local label=$1 tenders=$2 n=$3
  "$bench" --ws "ws://127.0.0.1:$port" --tenders "$tenders" --clients "$n" --events "$events" \
    --bytes "$bytes" --inject-sql "$conninfo" --server-pid "$(cat "$work/tenderd.pid")" \
    > "$work/$label-tenderd.json"
  "$bench" --ws "ws://127.0.0.1:$bport" --tenders "$tenders" --clients "$n" --events "$events" \
    --bytes "$bytes" --inject-http "http://127.0.0.1:$bport" --server-pid "$(cat "$work/baseline.pid")" \
    > "$work/$label-baseline.json"
}
if [ "$only" != opening ]; then
  run one "$one_hall" "$clients"
  [ "$many" = 1 ] && run many "$many_halls" "$((clients < 100 ? clients : 100))"
fi
if [ "$only" != fanout ]; then
  pid=$(cat "$work/tenderd.pid")
  # 100 halls open their connections at once on a saturated machine: pg.sh's 3 s connect timeout
  # failed a run once (the later keyword wins in a libpq conninfo).
  conninfo="$conninfo connect_timeout=60"
  "$opening" --server "http://127.0.0.1:$port" --conninfo "$conninfo" --server-pid "$pid" \
    --admin-key "$work/keys/admin-signing.pem" --halls 1 --bidders "$clients" --prefix o1 \
    > "$work/open-one.json"
  [ "$many" = 1 ] && "$opening" --server "http://127.0.0.1:$port" --conninfo "$conninfo" --server-pid "$pid" \
    --admin-key "$work/keys/admin-signing.pem" --halls 100 --bidders "$((clients < 100 ? clients : 100))" \
    --prefix o100 > "$work/open-many.json"
fi

cores=$(nproc)
ram=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)
cpu=$(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ *//')
echo "Machine: $cores cores ($cpu), $ram; $(date -u +%Y-%m-%d); loopback; load client, server and"
echo "PostgreSQL on the same cores. $events events of ~$bytes bytes per hall, 50 ms apart."
echo
python3 - "$work" <<'PY'
import json, os, sys
w = sys.argv[1]
if os.path.exists(f"{w}/one-tenderd.json"):
    print("| run | server | viewers | joined | join time | deliveries | other events | p50 | p99 | max | server CPU | server peak RSS | p99 ratio to baseline |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for label, name in (("one", "1 hall"), ("many", "100 halls × 100")):
        if not os.path.exists(f"{w}/{label}-tenderd.json"):
            continue
        r = {s: json.load(open(f"{w}/{label}-{s}.json")) for s in ("tenderd", "baseline")}
        for s in ("baseline", "tenderd"):
            x = r[s]
            ratio = x["latency_p99_ms"] / r["baseline"]["latency_p99_ms"] if r["baseline"]["latency_p99_ms"] else 0
            print(f"| {name} | {s} | {x['halls'] * x['clients_per_hall']} | {x['joined']} | {x['join_s']:.1f} s | "
                  f"{x['deliveries']}/{x['deliveries_expected']} | {x.get('other_events', 0)} | {x['latency_p50_ms']:.1f} ms | "
                  f"{x['latency_p99_ms']:.1f} ms | {x['latency_max_ms']:.1f} ms | {x['server_cpu_s']:.1f} s | "
                  f"{x['server_peak_rss_mib']:.0f} MiB | {ratio:.2f} |")
    print()
if os.path.exists(f"{w}/open-one.json"):
    print("| opening | bidders | setup | join | sign-in | window open → all decrypted | → window closed | → announced | events | deliveries | fan-out p50 | p99 | max | server CPU | server peak RSS | bench CPU |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for label, name in (("one", "1 hall"), ("many", "100 halls × 100")):
        if not os.path.exists(f"{w}/open-{label}.json"):
            continue
        x = json.load(open(f"{w}/open-{label}.json"))
        print(f"| {name} | {x['halls'] * x['bidders_per_hall']} | {x['setup_s']:.0f} s | {x['join_s']:.1f} s | "
              f"{x['sign_in_s']:.1f} s | {x['window_open_to_all_decrypted_s']:.1f} s | {x['window_open_to_closed_s']:.1f} s | "
              f"{x['window_open_to_announced_s']:.1f} s | {x['events']} | {x['deliveries']} | {x['latency_p50_ms']:.1f} ms | "
              f"{x['latency_p99_ms']:.1f} ms | {x['latency_max_ms']:.1f} ms | {x['server_cpu_s']:.1f} s | "
              f"{x['server_peak_rss_mib']:.0f} MiB | {x['bench_cpu_s']:.0f} s |")
PY
