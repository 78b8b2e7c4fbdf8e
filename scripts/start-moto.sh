#!/usr/bin/env bash
# Starts moto's server (an in-memory AWS, used here for SQS) on 127.0.0.1
# for the tests. moto ships with Python; this installs it with pip only
# when the moto_server command is missing.
#
# Usage: scripts/start-moto.sh STATE_DIR
# Writes STATE_DIR/moto.pid and appends SQS_TEST_ENDPOINT to STATE_DIR/env;
# the server's output goes to STATE_DIR/moto.log.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

state=${1:?usage: $0 STATE_DIR}
version=5.2.1
if ! command -v moto_server >/dev/null; then
  command -v python3 >/dev/null || die "python3 is not on the PATH; install Python 3 to run moto's server for the SQS tests"
  echo "installing moto[server] $version with pip"
  python3 -m pip install --quiet "moto[server]==$version" >"$state/pip.log" 2>&1 || {
    cat "$state/pip.log" >&2
    die "pip could not install moto[server]==$version"
  }
fi

port=$(free_port)
moto_server -H 127.0.0.1 -p "$port" >"$state/moto.log" 2>&1 &
pid=$!
echo "$pid" >"$state/moto.pid"

# moto imports every service's models at start; on a loaded machine that
# takes tens of seconds.
if ! wait_http "http://127.0.0.1:$port/moto-api/" 90 "$pid"; then
  cat "$state/moto.log" >&2 || true
  die "moto's server did not answer on 127.0.0.1:$port within 90 s"
fi
echo "export SQS_TEST_ENDPOINT=http://127.0.0.1:$port" >>"$state/env"
echo "moto on http://127.0.0.1:$port (pid $pid)"
