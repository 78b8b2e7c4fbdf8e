#!/usr/bin/env bash
# Measures what a turn costs the server: `datachat load` against
# `datachat serve` with the fake model, all users at once, one turn each,
# for each user count. The server is restarted for every count, so its peak
# memory (VmHWM) is that run's. Prints one line per count:
#
#   users  ratio  p50_ms  p99_ms  errors  leaks  cpu_ms_per_turn  peak_mb
#
# ratio is the p99 latency over the model's time per turn (two responses
# of LATENCY each). CPU is the server's own (user+system), read from /proc.
#
# Usage: scripts/measure-load.sh [SERVER_BINARY]
#   SERVER_BINARY  a datachat binary to serve with (default: built from
#                  this checkout); load and fakemodel always come from
#                  this checkout.
#   USERS="10 100 1000 10000" LATENCY=1s STREAM=1 OUT=dir  (environment)
set -euo pipefail
cd "$(dirname "$0")/.."

users=${USERS:-"10 100 1000 10000"}
latency=${LATENCY:-1s}
out=${OUT:-$(mktemp -d)}
fm_port=${FAKEMODEL_PORT:-18089}
srv_port=${SERVER_PORT:-13000}
mkdir -p "$out"

go build -o "$out/datachat" ./cmd/datachat
tool="$out/datachat"
server=${1:-$tool}

fm_pid=""
srv_pid=""
cleanup() {
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
	[ -n "$fm_pid" ] && kill "$fm_pid" 2>/dev/null || true
}
trap cleanup EXIT

"$tool" fakemodel -port "$fm_port" -latency "$latency" >"$out/fakemodel.log" 2>&1 &
fm_pid=$!

wait_health() {
	for _ in $(seq 1 100); do
		curl -fsS "http://127.0.0.1:$srv_port/health" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "server did not answer /health; see $out/serve.log" >&2
	return 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

stream_flag=""
[ -n "${STREAM:-}" ] && stream_flag="-stream"
lat_ms=$(( $(echo "$latency" | sed 's/ms$//; s/s$/000/') * 2 ))
hz=$(getconf CLK_TCK)

printf "%6s %6s %8s %8s %6s %5s %15s %8s\n" users ratio p50_ms p99_ms errors leaks cpu_ms_per_turn peak_mb
for n in $users; do
	PORT=$srv_port OPENAI_API_KEY=unused OPENAI_BASE_URL="http://127.0.0.1:$fm_port/v1/" \
		"$server" serve >"$out/serve-$n.log" 2>&1 &
	srv_pid=$!
	wait_health
	# One turn first, so start-up work is not counted.
	"$tool" load -url "http://127.0.0.1:$srv_port" -users 1 -quiet >/dev/null
	before=$(cpu_ticks "$srv_pid")
	"$tool" load -url "http://127.0.0.1:$srv_port" -users "$n" -quiet $stream_flag -json "$out/load-$n.json" >"$out/load-$n.txt" || true
	after=$(cpu_ticks "$srv_pid")
	peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$srv_pid/status")
	kill "$srv_pid" && wait "$srv_pid" 2>/dev/null || true
	srv_pid=""
	python3 - "$out/load-$n.json" "$n" "$lat_ms" "$before" "$after" "$hz" "$peak_kb" <<'EOF'
import json, sys
path, n, lat, before, after, hz, peak = sys.argv[1:]
r = json.load(open(path))
lat_s = r["latency_ms"]
cpu = (int(after) - int(before)) / int(hz) * 1000 / int(n)
print("%6s %6.2f %8.0f %8.0f %6d %5d %15.2f %8.0f" % (
    n, lat_s["p99"] / int(lat), lat_s["p50"], lat_s["p99"], r["failed"], len(r.get("leaks") or []),
    cpu, int(peak) / 1024))
EOF
done
