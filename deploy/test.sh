#!/usr/bin/env bash
# README command 2: installs what is missing, builds the dev preset (Debug + AddressSanitizer +
# UndefinedBehaviorSanitizer), and runs every test with CTest. The integration and e2e tiers get
# a throwaway PostgreSQL cluster, started before them and removed after them by CTest fixtures
# (deploy/pg.sh under build/dev/test-pg). Exits non-zero on any failure.
#
#   deploy/test.sh                 everything
#   deploy/test.sh -L unit         only one tier (any extra arguments go to ctest)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# ccache: hash paths relative to the checkout so clones at other paths share the cache, and keep
# the cache inside the build tree when there is no home directory to hold it.
export CCACHE_BASEDIR="$root"
if [ -z "${CCACHE_DIR:-}" ] && [ -z "${HOME:-}" ]; then export CCACHE_DIR="$root/build/.ccache"; fi
start=$(date +%s)
deploy/install-deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev
built=$(date +%s)
echo "test.sh: build took $((built - start)) s"
status=0
ctest --preset dev -j2 "$@" || status=$?
# A failed run can leave the fixture's cluster behind (for instance when ctest is interrupted).
deploy/pg.sh stop --dir build/dev/test-pg --remove >/dev/null 2>&1 || true
echo "test.sh: tests took $(( $(date +%s) - built )) s (total $(( $(date +%s) - start )) s)"
exit $status
