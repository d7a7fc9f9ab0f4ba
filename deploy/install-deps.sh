#!/usr/bin/env bash
# Installs the Debian packages listed in deploy/packages.txt that are missing. Needs root (or
# sudo). Does nothing, and needs no network, when everything is already there.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$root/deploy/packages.txt")
missing=()
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#wanted[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Node tools of the test suite (tests/node: the OpenAPI linter, Redocly CLI), from the npm
# registry into tests/node/node_modules with `npm ci`. Skipped, without network, when the
# installed tree was made from the current package-lock.json. Node.js (>= 20.19) and npm come
# with the machine, not from packages.txt: Debian 12's nodejs is too old for Redocly CLI 2.
node_dir="$root/tests/node"
stamp="$node_dir/node_modules/.installed-from-lock"
want=$(sha256sum "$node_dir/package-lock.json" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "install-deps: node tools present"
else
  if ! command -v npm >/dev/null; then
    echo "install-deps: npm is missing (Node.js >= 20.19 with npm runs tests/node)" >&2
    exit 1
  fi
  echo "install-deps: npm ci in tests/node"
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
fi
