#!/usr/bin/env bash
# Installs the Debian packages Crema needs and this machine lacks. Idempotent.
#   scripts/install-system-deps.sh run    what `scripts/up` needs (redis-server)
#   scripts/install-system-deps.sh test   plus the servers and browser the tests start
#   scripts/install-system-deps.sh bench  plus the peers the benchmark compares against
set -euo pipefail
profile=${1:-test}

# Node.js: what package.json's `engines` claims, the versions the suite runs on (README, Node.js versions).
node_version=$(node -p 'process.versions.node' 2>/dev/null || echo 0.0.0)
IFS=. read -r node_major node_minor _ <<<"$node_version"
if [ "$node_major" -lt 20 ] || { [ "$node_major" -eq 20 ] && [ "$node_minor" -lt 19 ]; }; then
  echo "Crema needs Node.js 24 (or 20.19 and later 20.x); found: $(node --version 2>/dev/null || echo none)." >&2
  exit 1
fi
case "$node_major" in
  24) ;;
  20) echo "crema: note: Node.js 20 reached its end of life in April 2026; Crema still runs and is tested on it, but use Node.js 24." >&2 ;;
  *) echo "crema: warning: Crema is tested on Node.js 20 and 24, not on $node_version." >&2 ;;
esac

have() { command -v "$1" >/dev/null 2>&1; }
need=()
have redis-server || need+=(redis-server)
if [ "$profile" = test ] || [ "$profile" = bench ]; then
  have influxd || need+=(influxdb)
  # Validates docker-compose.yml in the tests; no Docker engine needed.
  have docker-compose || need+=(docker-compose)
  have prometheus || need+=(prometheus)
  have prometheus-alertmanager || need+=(prometheus-alertmanager)
  have chromium || need+=(chromium)
fi
if [ "$profile" = bench ]; then
  have rsyslogd || need+=(rsyslog)
  [ -e /usr/lib/x86_64-linux-gnu/rsyslog/omhiredis.so ] || need+=(rsyslog-hiredis)
fi

if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if ! have apt-get; then
  echo "Missing: ${need[*]}. Install them, or point the tests at your own servers (see README, Testing)." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
echo "crema: installing Debian packages: ${need[*]} (sudo may ask for your password)..." >&2
$sudo apt-get update -qq
# Services are started by the project's own scripts, never by the package.
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
