#!/bin/bash
# The fuzz campaign of docs/SECURITY.md §3: builds the libFuzzer targets (preset `fuzz`, clang,
# ASan+UBSan), runs each for RUNS executions or SECONDS seconds, whichever comes first, from its
# committed corpus (tests/fuzz/corpus/<target>), then merges what it found back into that corpus
# (minimised: only inputs that add coverage) and prints one line of figures per target.
#
#   tools/fuzz-campaign.sh [--runs N] [--seconds S] [--jobs J] [target ...]
#
# Defaults: 10,000,000 runs, 1,800 s, every target, one at a time. --jobs runs that many targets
# at once (each on one core). A crash, leak or timeout stops that target; its reproducer is left
# in build/fuzz/findings/<target>/ and the script exits non-zero. Figures: build/fuzz/findings/
# campaign.txt.
set -eu

runs=10000000
seconds=1800
jobs=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz-campaign: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
targets=${*:-$(awk '/^set\(tender_fuzz_targets/{f=1} f{print} f&&/\)/{exit}' \
  tests/fuzz/targets.cmake | sed 's/set(tender_fuzz_targets//; s/)//' | tr '\n' ' ')}

cmake --preset fuzz >/dev/null
for t in $targets; do ninja -C build/fuzz "${t}_fuzz" >/dev/null; done

out=build/fuzz/findings
mkdir -p "$out"
: >"$out/campaign.txt"

run_one() {
  t=$1
  work="build/fuzz/corpus/$t"
  mkdir -p "$work" "$out/$t"
  log="$out/$t.log"
  start=$(date +%s)
  status=0
  ASAN_OPTIONS=detect_leaks=1 "./build/fuzz/tests/fuzz/${t}_fuzz" \
    -runs="$runs" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$out/$t/" \
    "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  took=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  # Keep only inputs that add coverage to the committed corpus.
  "./build/fuzz/tests/fuzz/${t}_fuzz" -merge=1 "tests/fuzz/corpus/$t" "$work" >/dev/null 2>&1 || true
  if [ "$status" -eq 0 ]; then verdict="no crash, leak or timeout"; else verdict="FOUND (exit $status)"; fi
  echo "$t: ${execs:-?} executions in ${took} s, $verdict" | tee -a "$out/campaign.txt"
  return "$status"
}

failed=0
running=0
for t in $targets; do
  if [ "$jobs" -le 1 ]; then
    run_one "$t" || failed=1
  else
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
      wait -n || failed=1
      running=$((running - 1))
    fi
  fi
done
wait || failed=1
grep -q FOUND "$out/campaign.txt" && failed=1
exit "$failed"
