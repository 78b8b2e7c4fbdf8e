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
echo "== go test -race ./..."
go test -race -count=1 "$@" ./...
