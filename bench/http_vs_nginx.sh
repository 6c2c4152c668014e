#!/usr/bin/env bash
# Compares taskorch-server answering batch-pause-task (10 jobs) with nginx answering a GET
# with the same 674 bytes, with wrk: same connections, wrk threads and duration for every
# server, servers pinned to one set of CPUs and wrk to another, runs alternating.
#
# nginx answers in two ways, from one nginx process (the same workers, keep-alive settings
# and log settings):
#   nginx-file  a static file, nginx tuned as its users tune it for such a file
#               (open_file_cache, sendfile, tcp_nopush, access_log off): the reference,
#               the goals (taskorch / nginx-file: req/s >= 0.75, p99 <= 1.5) are against it;
#   nginx-mem   `return 200 '<the same bytes>'` from memory: an upper bound, no file at all.
# With --with-untuned, also nginx-untuned: the same file without open_file_cache (nginx
# opens and stats the file for every request), the comparison this script made before; an
# information row only.
# Prints requests/s and p99 latency per run and their medians, the ratios taskorch / each,
# and the goals. Exits 0 whether or not the goals are met; non-zero on errors (a tool missing,
# a server that does not start, non-2xx responses).
# See docs/benchmarks.md. Usage: bench/http_vs_nginx.sh [options], --help for the options.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

server=$root/build/release/server/taskorch-server
server_cpus=1
wrk_cpus=0
threads=1
engine_threads=
connections=32
wrk_threads=1
duration=10
warmup=2
runs=3
out_dir=$root/build/bench-results/http
nginx_port=0
with_untuned=0

usage() {
  cat <<EOF
usage: bench/http_vs_nginx.sh [options]

  --server PATH          taskorch-server binary (default: build/release/server/taskorch-server)
  --server-cpus LIST     CPUs for both servers, taskset syntax (default: $server_cpus)
  --wrk-cpus LIST        CPUs for wrk (default: $wrk_cpus)
  --threads N            taskorch HTTP threads = nginx worker_processes (default: $threads)
  --engine-threads N     taskorch engine threads (default: the number of --server-cpus)
  --connections N        wrk connections (default: $connections)
  --wrk-threads N        wrk threads (default: $wrk_threads)
  --duration SECONDS     per run (default: $duration)
  --warmup SECONDS       one unrecorded run per server first, 0 for none (default: $warmup)
  --runs N               runs per server (default: $runs)
  --nginx-port PORT      0 picks a free one (default: $nginx_port)
  --out-dir DIR          raw wrk outputs and logs (default: build/bench-results/http)
  --with-untuned         also measure nginx-untuned (the file without open_file_cache)
  --help                 this text
EOF
}

die() {
  echo "http_vs_nginx: $*" >&2
  exit 1
}

while (($#)); do
  case $1 in
    --help | -h) usage; exit 0 ;;
    --with-untuned) with_untuned=1; shift; continue ;;
    --server | --server-cpus | --wrk-cpus | --threads | --engine-threads | --connections | \
      --wrk-threads | --duration | --warmup | --runs | --nginx-port | --out-dir)
      (($# >= 2)) || die "$1 needs a value"
      value=$2
      case $1 in
        --server) server=$value ;;
        --server-cpus) server_cpus=$value ;;
        --wrk-cpus) wrk_cpus=$value ;;
        --threads) threads=$value ;;
        --engine-threads) engine_threads=$value ;;
        --connections) connections=$value ;;
        --wrk-threads) wrk_threads=$value ;;
        --duration) duration=$value ;;
        --warmup) warmup=$value ;;
        --runs) runs=$value ;;
        --nginx-port) nginx_port=$value ;;
        --out-dir) out_dir=$value ;;
      esac
      shift 2
      ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

for n in threads connections wrk_threads duration warmup runs nginx_port; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "--${n//_/-} needs a number, got '${!n}'"
done
((threads >= 1 && connections >= 1 && wrk_threads >= 1 && duration >= 1 && runs >= 1)) ||
  die "--threads, --connections, --wrk-threads, --duration and --runs must be at least 1"
((connections >= wrk_threads)) || die "--connections must be at least --wrk-threads"

# ---- tools ---------------------------------------------------------------------------------
nginx_bin=$(command -v nginx || true)
[[ -z $nginx_bin && -x /usr/sbin/nginx ]] && nginx_bin=/usr/sbin/nginx
missing=()
command -v wrk >/dev/null || missing+=(wrk)
[[ -n $nginx_bin ]] || missing+=(nginx-light)
command -v taskset >/dev/null || missing+=(util-linux)
if ((${#missing[@]})); then
  echo "http_vs_nginx: missing tools; install them with:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
[[ -x $server ]] || die "no taskorch-server at $server; build it with
  cmake --preset release
  cmake --build --preset release --target taskorch-server
or pass --server PATH"

# CPU sets: valid, and a warning when servers and wrk share a CPU.
cpu_list() { # expands "0,2-3" to "0 2 3"
  local part out=()
  IFS=, read -ra parts <<<"$1"
  for part in "${parts[@]}"; do
    if [[ $part =~ ^([0-9]+)-([0-9]+)$ ]]; then
      mapfile -t -O "${#out[@]}" out < <(seq "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}")
    elif [[ $part =~ ^[0-9]+$ ]]; then
      out+=("$part")
    else
      die "bad CPU list '$1'"
    fi
  done
  echo "${out[*]}"
}
server_cpu_set=$(cpu_list "$server_cpus")
wrk_cpu_set=$(cpu_list "$wrk_cpus")
taskset -c "$server_cpus" true 2>/dev/null || die "taskset cannot use CPUs '$server_cpus' here"
taskset -c "$wrk_cpus" true 2>/dev/null || die "taskset cannot use CPUs '$wrk_cpus' here"
for c in $server_cpu_set; do
  for w in $wrk_cpu_set; do
    [[ $c == "$w" ]] && echo "http_vs_nginx: warning: CPU $c runs both a server and wrk" >&2
  done
done
[[ -n $engine_threads ]] || engine_threads=$(wc -w <<<"$server_cpu_set")
[[ $engine_threads =~ ^[0-9]+$ ]] || die "--engine-threads needs a number"

# ---- workspace and cleanup -----------------------------------------------------------------
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
work=$(mktemp -d /tmp/taskorch-http-bench.XXXXXX)
chmod 755 "$work" # nginx workers may run as another user (root starts them as nobody)
pids=()

cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- taskorch-server -----------------------------------------------------------------------
project=054ba152d480d55b2f5dc0069e7ddef0 # the built-in demo fleet's project
token=bench-token
lua=$here/pause10.lua
[[ -f $lua ]] || die "missing $lua"

taskset -c "$server_cpus" "$server" --listen 127.0.0.1:0 --threads "$threads" \
  --engine-threads "$engine_threads" --in-memory --token "$token:$project" \
  >"$out_dir/taskorch-server.log" 2>&1 &
pids+=($!)
taskorch_port=
for _ in $(seq 100); do
  taskorch_port=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' \
    "$out_dir/taskorch-server.log")
  [[ -n $taskorch_port ]] && break
  kill -0 "${pids[-1]}" 2>/dev/null || break
  sleep 0.1
done
[[ -n $taskorch_port ]] || {
  cat "$out_dir/taskorch-server.log" >&2
  die "taskorch-server did not start"
}
taskorch_url=http://127.0.0.1:$taskorch_port/v3/$project/jobs/batch-pause-task

# ---- nginx: the same bytes as taskorch's answer, from a file and from memory ---------------
# The ids come from the Lua script, so every server sends ten "success" items for the same jobs.
mapfile -t ids < <(grep -oE '"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{7}jb[0-9a-f]{3}"' "$lua")
((${#ids[@]} == 10)) || die "expected 10 job ids in $lua, found ${#ids[@]}"
mkdir -p "$work/www" "$work/tmp"
answer=$(
  printf '{"results":['
  sep=
  for id in "${ids[@]}"; do
    printf '%s{"id":%s,"status":"success"}' "$sep" "$id"
    sep=,
  done
  printf '],"count":10}'
)
[[ $answer != *[\'\$\\]* ]] || die "the answer holds a character nginx's return would interpret"
printf '%s' "$answer" >"$work/www/pause.json"
cp "$work/www/pause.json" "$work/www/untuned.json"
chmod 644 "$work/www"/*.json
chmod -R a+rX "$work/www"

if ((nginx_port == 0)); then
  for p in $(seq 18300 18400); do
    port_open "$p" || { nginx_port=$p; break; }
  done
  ((nginx_port)) || die "no free port in 18300-18400 for nginx; pass --nginx-port"
elif port_open "$nginx_port"; then
  die "port $nginx_port is in use"
fi
# One server, three locations; everything else (workers, keep-alive, logs, TCP options) is
# shared. keepalive_timeout is taskorch-server's --idle-timeout-ms default (30 s); neither
# closes a connection after some number of requests.
cat >"$work/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes $threads;
pid $work/nginx.pid;
error_log $out_dir/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 100000000;
  keepalive_timeout 30s;
  client_body_temp_path $work/tmp/body;
  proxy_temp_path $work/tmp/proxy;
  fastcgi_temp_path $work/tmp/fastcgi;
  uwsgi_temp_path $work/tmp/uwsgi;
  scgi_temp_path $work/tmp/scgi;
  default_type application/json;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/www;
    # nginx-file: a static file, with the descriptor cache its users turn on for one.
    location = /pause.json {
      open_file_cache max=16 inactive=60s;
      open_file_cache_valid 60s;
      open_file_cache_min_uses 1;
      open_file_cache_errors on;
    }
    # nginx-untuned: the same file without it (open and fstat per request).
    location = /untuned.json {
      open_file_cache off;
    }
    # nginx-mem: the same bytes from memory, the upper bound.
    location = /memory.json {
      return 200 '$answer';
    }
  }
}
CONF
taskset -c "$server_cpus" "$nginx_bin" -p "$work" -c "$work/nginx.conf" -e "$out_dir/nginx-error.log" \
  >"$out_dir/nginx.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  port_open "$nginx_port" && break
  kill -0 "${pids[-1]}" 2>/dev/null || break
  sleep 0.1
done
port_open "$nginx_port" || {
  cat "$out_dir/nginx.log" "$out_dir/nginx-error.log" >&2 2>/dev/null || true
  die "nginx did not start"
}
cp "$work/nginx.conf" "$out_dir/nginx.conf"

servers=(taskorch nginx-file nginx-mem)
((with_untuned)) && servers+=(nginx-untuned)
declare -A url
url[taskorch]=$taskorch_url
url[nginx-file]=http://127.0.0.1:$nginx_port/pause.json
url[nginx-mem]=http://127.0.0.1:$nginx_port/memory.json
url[nginx-untuned]=http://127.0.0.1:$nginx_port/untuned.json

# ---- one request each: every server answers 200 with the same body ---------------------------
if command -v curl >/dev/null; then
  request=$(printf '{"jobs":[%s]}' "$(printf '{"job_id":%s,"pause_mode":"target"},' "${ids[@]}" | sed 's/,$//')")
  for name in "${servers[@]}"; do
    body=$out_dir/response-$name.json
    if [[ $name == taskorch ]]; then
      answer_of=$(curl -s -o "$body" -w '%{http_code} %{size_download}' -X POST "${url[$name]}" \
        -H 'Content-Type: application/json' -H "X-Auth-Token: $token" -d "$request")
    else
      answer_of=$(curl -s -o "$body" -w '%{http_code} %{size_download}' "${url[$name]}")
    fi
    [[ ${answer_of%% *} == 200 ]] || die "$name answered ${answer_of%% *}: $(head -c 300 "$body")"
    same=same
    cmp -s "$body" "$work/www/pause.json" || same=DIFFERENT
    echo "check: $name 200, ${answer_of#* } body bytes, $same as the file"
    [[ $same == same ]] || echo "http_vs_nginx: warning: $name's body differs from nginx's file" >&2
  done
fi

# ---- runs ----------------------------------------------------------------------------------
wrk_args=(-t "$wrk_threads" -c "$connections" --latency --timeout 10s)
run_wrk() { # name seconds output
  local name=$1 seconds=$2 output=$3
  if [[ $name == taskorch ]]; then
    TASKORCH_TOKEN=$token taskset -c "$wrk_cpus" wrk "${wrk_args[@]}" -d "${seconds}s" \
      -s "$lua" "${url[$name]}" >"$output" 2>&1 || die "wrk failed: $(cat "$output")"
  else
    taskset -c "$wrk_cpus" wrk "${wrk_args[@]}" -d "${seconds}s" "${url[$name]}" \
      >"$output" 2>&1 || die "wrk failed: $(cat "$output")"
  fi
  if grep -q 'Non-2xx or 3xx responses' "$output"; then
    cat "$output" >&2
    die "$name answered non-2xx responses (see $output)"
  fi
  grep -q '^Requests/sec:' "$output" || die "cannot read wrk output $output"
  if grep -q 'Socket errors' "$output"; then
    echo "http_vs_nginx: warning: $name: $(grep 'Socket errors' "$output" | sed 's/^ *//')" >&2
  fi
}
requests_per_s() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
p99_ms() { # wrk prints e.g. "99%  812.00us", "1.20ms", "1.02s", "2.00m"
  awk '$1 == "99%" {
    v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
    if (f < 0) exit 1
    printf "%.4f\n", v * f; found = 1
  } END { if (!found) exit 1 }' "$1"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "taskorch:  $server, $threads HTTP thread(s), $engine_threads engine thread(s), CPUs $server_cpus"
echo "nginx:     $nginx_bin ($("$nginx_bin" -v 2>&1 | sed 's|^nginx version: ||')), worker_processes $threads, CPUs $server_cpus"
echo "wrk:       $wrk_threads thread(s), $connections connections, ${duration}s x $runs runs each, CPUs $wrk_cpus"
echo "order:     ${servers[*]}, repeated $runs times"
echo "raw output: $out_dir"

if ((warmup > 0)); then
  for name in "${servers[@]}"; do run_wrk "$name" "$warmup" "$out_dir/warmup-$name.txt"; done
fi

declare -A rps p99
for ((r = 1; r <= runs; r++)); do
  for name in "${servers[@]}"; do
    file=$out_dir/wrk-$name-$r.txt
    run_wrk "$name" "$duration" "$file"
    rps[$name,$r]=$(requests_per_s "$file")
    p99[$name,$r]=$(p99_ms "$file") || die "no 99% latency in $file"
    printf '  run %d %-13s %12.0f req/s  p99 %8.3f ms\n' "$r" "$name" "${rps[$name,$r]}" "${p99[$name,$r]}"
  done
done

# ---- tables --------------------------------------------------------------------------------
declare -A rps_med p99_med
for name in "${servers[@]}"; do
  rps_med[$name]=$(for ((r = 1; r <= runs; r++)); do echo "${rps[$name,$r]}"; done | median)
  p99_med[$name]=$(for ((r = 1; r <= runs; r++)); do echo "${p99[$name,$r]}"; done | median)
done

what() {
  case $1 in
    taskorch) echo "POST batch-pause-task, 10 jobs (the server under test)" ;;
    nginx-file) echo "GET a static file, open_file_cache on (reference)" ;;
    nginx-mem) echo "GET, return 200 from memory (upper bound)" ;;
    nginx-untuned) echo "GET a static file, no open_file_cache (information)" ;;
  esac
}

{
echo
echo "Every answer: 200 with the same 674-byte body (ten \"success\" items)."
printf '%-13s | %-54s' server what
for ((r = 1; r <= runs; r++)); do printf ' | %11s' "run $r req/s"; done
printf ' | %12s | %11s\n' "median req/s" "median p99"
for name in "${servers[@]}"; do
  printf '%-13s | %-54s' "$name" "$(what "$name")"
  for ((r = 1; r <= runs; r++)); do printf ' | %11.0f' "${rps[$name,$r]}"; done
  printf ' | %12.0f | %8.3f ms\n' "${rps_med[$name]}" "${p99_med[$name]}"
done
printf '%-13s   %-54s' "" "p99 per run (ms)"
echo
for name in "${servers[@]}"; do
  printf '%-13s | %-54s' "$name" ""
  for ((r = 1; r <= runs; r++)); do printf ' | %11.3f' "${p99[$name,$r]}"; done
  echo
done

echo
printf '%-26s | %10s | %11s\n' "taskorch / (medians)" "req/s" "p99"
for name in "${servers[@]}"; do
  [[ $name == taskorch ]] && continue
  awk -v n="$name" -v tr="${rps_med[taskorch]}" -v nr="${rps_med[$name]}" \
    -v tp="${p99_med[taskorch]}" -v np="${p99_med[$name]}" 'BEGIN {
    printf "%-26s | %10s | %11s\n", n, (nr > 0 ? sprintf("%.2f", tr / nr) : "n/a"),
      (np > 0 ? sprintf("%.2f", tp / np) : "n/a") }'
done

echo
echo "Goals, against nginx-file (nginx serving the file, tuned as its users tune it):"
awk -v tr="${rps_med[taskorch]}" -v nr="${rps_med[nginx-file]}" -v tp="${p99_med[taskorch]}" \
  -v np="${p99_med[nginx-file]}" 'BEGIN {
  printf "%-38s | %8s | %-7s | %s\n", "ratio taskorch / nginx-file (medians)", "measured", "goal", "result"
  if (nr > 0) { q = tr / nr; printf "%-38s | %8.2f | >= 0.75 | %s\n", "requests/s", q, (q >= 0.75 ? "PASS" : "MISS") }
  else printf "%-38s | %8s | >= 0.75 | n/a\n", "requests/s", "n/a"
  if (np > 0) { q = tp / np; printf "%-38s | %8.2f | <= 1.5  | %s\n", "p99 latency", q, (q <= 1.5 ? "PASS" : "MISS") }
  else printf "%-38s | %8s | <= 1.5  | n/a\n", "p99 latency", "n/a"
}'
} | tee "$out_dir/summary.txt"
