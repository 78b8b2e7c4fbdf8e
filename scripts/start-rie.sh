#!/usr/bin/env bash
# Installs the AWS Lambda Runtime Interface Emulator (the runtime API that
# `sam local invoke` runs inside its container) into the cache outside the
# clone, keyed by version, and tells the tests where it is. The tests start
# it themselves, one per built function, on free loopback ports.
# Usage: scripts/start-rie.sh STATE_DIR
set -euo pipefail
state=${1:?usage: start-rie.sh STATE_DIR}
. "$(dirname "$0")/lib.sh"

version=v0.0.0-20261030222936-bef5c4ba774d
dir="$(cache_dir)/rie-${version##*-}"
bin="$dir/aws-lambda-rie"
if [ ! -x "$bin" ]; then
  echo "installing aws-lambda-rie $version into $dir"
  GOBIN="$dir" go install "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$version" \
    || die "could not install aws-lambda-rie (go install failed; see above)"
fi
echo "export AWS_LAMBDA_RIE=$bin" >> "$state/env"
