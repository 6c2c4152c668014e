#!/usr/bin/env bash
# Installs what is missing, builds the release preset, then shows that the registry is durable
# and leaves taskorch-server serving its built-in demo fleet:
#   1. starts the server on a fresh data directory (build/demo-data, initialised from the demo
#      fleet),
#   2. pauses the DRS example's job with curl,
#   3. kills the server with SIGKILL (a crash: it writes nothing more),
#   4. starts it again on the same directory: batch-status shows the job still PAUSING,
# and keeps that second server running in the foreground (Ctrl-C stops it the same way; the
# next run of this script starts from a fresh directory again).
# Extra arguments go to the server (not --data-dir), e.g. scripts/run.sh --listen 127.0.0.1:9000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target taskorch-server
server=build/release/server/taskorch-server
data=build/demo-data
job=8d0e8e36-a618-490d-8a46-8c61ac9jb502 # the DRS example's job, in the demo fleet
log=$(mktemp -t taskorch-run.XXXXXX)
pid=
trap 'rm -f "$log"' EXIT
trap '[[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null; wait; exit 130' INT TERM

# Starts the server in the background; prints its first lines; sets pid, url and token.
start() {
  "$server" --data-dir "$data" "$@" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do
    grep -q '^registry: ' "$log" && break
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$log" >&2
      exit 1
    fi
    sleep 0.1
  done
  grep -E '^(listening on|registry: )' "$log"
  url=$(sed -n 's|^listening on \(http://.*\)$|\1|p' "$log")
  token=$(sed -n "s|^curl .*-H 'X-Auth-Token: \([^']*\)'.*|\1|p" "$log")
}

# POSTs a DRS request with the demo token, showing the command (token abbreviated).
call() {
  echo "\$ curl -s -X POST $url/v3/054ba152d480d55b2f5dc0069e7ddef0/jobs/$1 -H 'X-Auth-Token: ${token:0:6}...' -d '$2'"
  curl -s -X POST "$url/v3/054ba152d480d55b2f5dc0069e7ddef0/jobs/$1" \
    -H 'Content-Type: application/json' -H "X-Auth-Token: $token" -d "$2"
  echo
}

rm -rf "$data"
echo "== 1. taskorch-server on a fresh data directory, $data"
start "$@"
if [[ -z $token ]]; then # --token was given: no demo token, so no demo; just serve
  echo "== (no demo token with --token: serving without the demo)"
  trap '[[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null' INT TERM
  wait "$pid" || true
  exit
fi
echo "== 2. pause the DRS example's job"
call batch-pause-task "{\"jobs\":[{\"job_id\":\"$job\",\"pause_mode\":\"target\"}]}"
echo "== 3. kill -9: a crash, the server writes nothing more"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
echo "== 4. start again on $data: the pause is still there"
start "$@"
call batch-status "{\"jobs\":[\"$job\"]}"
echo "== serving (Ctrl-C stops it); try:"
grep '^curl ' "$log"
echo "or open $url/console/ in a browser: project 054ba152d480d55b2f5dc0069e7ddef0, that command's token"
tail -n 0 -f --pid="$pid" "$log" & # what the server says from now on (at shutdown, say)
trap '[[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null' INT TERM
rc=0
wait "$pid" || rc=$?
# A signal interrupts the first wait; the second one collects the server's exit code.
if kill -0 "$pid" 2>/dev/null || [[ $rc -gt 128 ]]; then
  rc=0
  wait "$pid" || rc=$?
fi
exit "$rc"
