#!/usr/bin/env bash
# start-weaviate.sh STATE_DIR: starts a single-node weaviate-server for the
# tests, every port free and distinct so parallel runs never collide, its
# data under STATE_DIR. GraphQL is turned off, as on a new Weaviate Cloud
# cluster, so the tests prove the adapter does not need it. Writes
# STATE_DIR/weaviate.pid (test.sh stops it) and appends WEAVIATE_TEST_URL
# (REST) and WEAVIATE_TEST_GRPC_ADDR (gRPC, host:port) to STATE_DIR/env.
#
# Bound to 127.0.0.1: REST (--host), memberlist (CLUSTER_BIND_ADDR), Raft
# and its RPC port (they bind the advertised address). weaviate-server has
# no setting for the address of its gRPC port or its internal data port,
# which listen on every interface; nothing else is started (profiling and
# metrics are off).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

state=${1:?usage: start-weaviate.sh STATE_DIR}
version=v1.35.2
bindir="$(cache_dir)/weaviate-$version"
bin="$bindir/weaviate-server"

# The binary is cached outside the clone, keyed by version, because building
# it takes minutes and CI starts from a fresh clone every time.
if [ ! -x "$bin" ]; then
  echo "installing weaviate-server $version into $bindir (about 6 minutes the first time)"
  mkdir -p "$bindir"
  GOBIN="$bindir" go install "github.com/weaviate/weaviate/cmd/weaviate-server@$version" ||
    die "go install of weaviate-server $version failed; check Go module proxy access and disk space"
  [ -x "$bin" ] || die "go install finished but $bin is missing"
fi

data="$state/weaviate-data"
mkdir -p "$data"
http_port=$(free_port)
grpc_port=$(free_port)
gossip_port=$(free_port)
data_port=$(free_port)
raft_port=$(free_port)
raft_rpc_port=$(free_port)
# free_port may hand out the same port twice in a row; insist on distinct ones.
ports="$http_port $grpc_port $gossip_port $data_port $raft_port $raft_rpc_port"
if [ "$(echo "$ports" | tr ' ' '\n' | sort -u | wc -l)" -ne 6 ]; then
  die "could not find six distinct free ports (got $ports); run again"
fi

log="$state/weaviate.log"
CLUSTER_ADVERTISE_ADDR=127.0.0.1 \
CLUSTER_BIND_ADDR=127.0.0.1 \
RAFT_BOOTSTRAP_EXPECT=1 \
RAFT_JOIN=node1 \
CLUSTER_HOSTNAME=node1 \
AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=true \
PERSISTENCE_DATA_PATH="$data" \
DEFAULT_VECTORIZER_MODULE=none \
ENABLE_MODULES= \
DISABLE_TELEMETRY=true \
DISABLE_GRAPHQL=true \
GO_PROFILING_DISABLE=true \
PROMETHEUS_MONITORING_ENABLED=false \
GRPC_PORT=$grpc_port \
CLUSTER_GOSSIP_BIND_PORT=$gossip_port \
CLUSTER_DATA_BIND_PORT=$data_port \
RAFT_PORT=$raft_port \
RAFT_INTERNAL_RPC_PORT=$raft_rpc_port \
  "$bin" --host 127.0.0.1 --port "$http_port" --scheme http >"$log" 2>&1 &
pid=$!
echo "$pid" > "$state/weaviate.pid"

url="http://127.0.0.1:$http_port"
if ! wait_http "$url/v1/.well-known/ready" 90 "$pid"; then
  echo "weaviate-server did not become ready at $url; last lines of $log:" >&2
  tail -n 40 "$log" >&2 || true
  exit 1
fi
grpc_addr="127.0.0.1:$grpc_port"
echo "export WEAVIATE_TEST_URL=$url" >> "$state/env"
echo "export WEAVIATE_TEST_GRPC_ADDR=$grpc_addr" >> "$state/env"
echo "weaviate-server $version ready at $url, gRPC $grpc_addr (pid $pid)"
