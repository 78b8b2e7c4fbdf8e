#!/usr/bin/env bash
# Starts dynalite (DynamoDB in memory, pinned by package-lock.json) on
# 127.0.0.1 for the tests, through scripts/dynalite-server.js, which adds
# the transaction and TTL operations dynalite lacks.
#
# Usage: scripts/start-dynalite.sh STATE_DIR
# Writes STATE_DIR/dynalite.pid and appends DYNAMODB_TEST_ENDPOINT to
# STATE_DIR/env; the server's output goes to STATE_DIR/dynalite.log.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

state=${1:?usage: $0 STATE_DIR}
command -v node >/dev/null || die "node is not on the PATH; install Node.js 20 or newer to run dynalite"
command -v npm >/dev/null || die "npm is not on the PATH; install it with Node.js to run dynalite"

# Install when dynalite is missing or is not the version package-lock.json pins.
want=$(node -p "require('./package-lock.json').packages['node_modules/dynalite'].version")
have=$(node -p "try { require('./node_modules/dynalite/package.json').version } catch { '' }")
if [ "$have" != "$want" ]; then
  echo "installing dynalite $want from package-lock.json (npm ci)"
  npm ci --no-audit --no-fund >"$state/npm-ci.log" 2>&1 || {
    cat "$state/npm-ci.log" >&2
    die "npm ci failed; dynalite could not be installed"
  }
fi

port=$(free_port)
# Tables become ACTIVE after 50 ms instead of dynalite's 500, so each test's
# own table is ready quickly; CreateTable still waits for ACTIVE.
node scripts/dynalite-server.js --host 127.0.0.1 --port "$port" \
  --createTableMs 50 --deleteTableMs 50 --updateTableMs 50 \
  >"$state/dynalite.log" 2>&1 &
pid=$!
echo "$pid" >"$state/dynalite.pid"

if ! wait_http "http://127.0.0.1:$port/" 30 "$pid"; then
  cat "$state/dynalite.log" >&2 || true
  die "dynalite did not answer on 127.0.0.1:$port within 30 s"
fi
echo "export DYNAMODB_TEST_ENDPOINT=http://127.0.0.1:$port" >>"$state/env"
echo "dynalite on http://127.0.0.1:$port (pid $pid)"
