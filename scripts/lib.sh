# Helpers shared by the scripts that start test servers. Source it.

# cache_dir prints the folder, outside any clone, where installed tools are
# kept between runs (keyed by version by the callers).
cache_dir() {
  echo "${DATACHAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/datachat}"
}

# free_port prints a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# wait_http URL SECONDS PID: waits until URL answers 2xx, the process dies,
# or the time runs out. Returns non-zero unless the URL answered.
wait_http() {
  local url=$1 secs=$2 pid=$3
  for _ in $(seq 1 $((secs * 4))); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.25
  done
  return 1
}

die() {
  echo "error: $*" >&2
  exit 1
}
