#!/usr/bin/env bash
# Runs the project-local Redocly CLI (tests/node, installed by deploy/install-deps.sh).
#   tests/node/redocly.sh lint             lints protocol/openapi.yaml; any warning fails
#   tests/node/redocly.sh bundle OUT.json  writes the spec as JSON (atomically) for the e2e tests
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cli="$root/tests/node/node_modules/@redocly/cli/bin/cli.js"
if [ ! -f "$cli" ]; then
  echo "redocly.sh: $cli is missing; run deploy/install-deps.sh (npm ci in tests/node)" >&2
  exit 1
fi
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1
spec="$root/protocol/openapi.yaml"
config="$root/protocol/redocly.yaml"
case "${1:-}" in
  lint)
    status=0
    report=$(node "$cli" lint --config "$config" --max-problems 1000 --format stylish "$spec" 2>&1) ||
      status=$?
    echo "$report"
    # Redocly exits 0 on warnings; here a warning is a failure like an error.
    if [ $status -eq 0 ] && grep -Eq 'You have [0-9]+ warnings?' <<<"$report"; then status=1; fi
    exit $status
    ;;
  bundle)
    out=${2:?bundle needs an output path}
    tmp="${out%.json}.tmp$$.json"  # redocly appends .json to a name without it
    if ! report=$(node "$cli" bundle --config "$config" "$spec" --ext json -o "$tmp" 2>&1); then
      echo "$report" >&2
      rm -f "$tmp"
      exit 1
    fi
    mv -f "$tmp" "$out"
    ;;
  *)
    echo "usage: redocly.sh lint | bundle OUT.json" >&2
    exit 2
    ;;
esac
