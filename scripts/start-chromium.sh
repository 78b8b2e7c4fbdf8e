#!/usr/bin/env bash
# Makes Debian's Chromium available to the page's browser tests, installing
# it with apt-get when it is missing (a fresh CI machine), and tells the
# tests where it is. Nothing keeps running: each test starts its own
# headless browser with a new profile and stops it.
#
# Usage: scripts/start-chromium.sh STATE_DIR
# Appends DATACHAT_CHROMIUM (the browser's path) to STATE_DIR/env.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

state=${1:?usage: $0 STATE_DIR}
exe=${DATACHAT_CHROMIUM:-$(command -v chromium || true)}
if [ -z "$exe" ]; then
  command -v apt-get >/dev/null || die "chromium is not installed and apt-get is missing; install Chromium and set DATACHAT_CHROMIUM to its path"
  echo "installing chromium (apt-get install chromium)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  { $sudo apt-get update && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium; } \
    >"$state/chromium-install.log" 2>&1 || {
    cat "$state/chromium-install.log" >&2
    die "apt-get install chromium failed"
  }
  exe=$(command -v chromium) || die "chromium was installed but is not on the PATH"
fi
"$exe" --version || die "$exe does not run"
echo "export DATACHAT_CHROMIUM=$exe" >>"$state/env"
