#!/usr/bin/env bash
# Installs npm dependencies when they are missing or older than the lock file, then builds unless
# dist/ was built from the sources as they are (scripts/build-stamp.mjs). Says what it does.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf 'crema: %s\n' "$*" >&2; }
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci; a minute or two the first time)..."
  npm ci --no-audit --no-fund --loglevel=error
fi
if node scripts/build-stamp.mjs check; then
  say "build is up to date (dist/ matches the sources)"
else
  say "building (TypeScript, the page bundle) into dist/..."
  npm run --silent build
fi
