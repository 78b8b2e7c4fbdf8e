#!/usr/bin/env bash
# Runs everything CI runs: starts the real servers the tests talk to on
# 127.0.0.1 (each scripts/start-*.sh), runs go vet and the race-enabled
# tests with their addresses in the environment, and stops every server it
# started by its process id, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

state=$(mktemp -d "${TMPDIR:-/tmp}/datachat-test.XXXXXX")
cleanup() {
  for pidfile in "$state"/*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$state"
}
trap cleanup EXIT INT TERM

# The node packages the tests use (dynalite, the AG-UI client), exactly as
# package-lock.json pins them: installed in a fresh clone, or when they
# differ from the lock.
if ! npm ls --depth=0 >/dev/null 2>&1; then
  echo "== npm ci"
  npm ci --no-audit --no-fund >"$state/npm-ci.log" 2>&1 || { cat "$state/npm-ci.log" >&2; die "npm ci failed"; }
fi

: > "$state/env"
for start in scripts/start-*.sh; do
  [ -e "$start" ] || continue
  echo "== $start"
  "$start" "$state" || die "$start failed; see the message above"
done
# shellcheck disable=SC1091
. "$state/env"
# Tests that need a server fail, rather than skip, when its address is missing.
export DATACHAT_REQUIRE_SERVERS=1

echo "== go vet ./..."
go vet ./...
echo "== node --test scripts/agui.test.mjs (recorded streams through @ag-ui/client and @ag-ui/core)"
node --test scripts/agui.test.mjs
echo "== go test -race ./..."
go test -race -count=1 "$@" ./...
