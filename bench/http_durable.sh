#!/usr/bin/env bash
# taskorch-server with --durability always against the same server --in-memory, with wrk
# (bench/pause_resume10.lua: every request pauses or resumes 10 running tasks, so every
# request writes 10 journal records), at several connection counts; and the disk's fsync
# latency, measured on the data directory's filesystem.
#
# Both servers hold the same fleet (--tasks running tasks, written by this script) and are
# pinned to --server-cpus, wrk to --wrk-cpus; the runs alternate (in-memory, always) at each
# connection count, after an unrecorded warm-up run of each. For the durable server, the
# journal's fdatasyncs and records are read from /metrics before and after each run.
# The goal: always reaches >= 0.8 x min(in-memory req/s, connections / fsync latency): with
# group commit, one fdatasync serves every request waiting for it, so the disk allows about
# one round of `connections` requests per fsync.
# Exits 0 whether or not the goal is met; non-zero on errors (a tool missing, a server that
# does not start, non-2xx responses, a request that did not write its 10 records).
# See docs/benchmarks.md, "Durability". Usage: bench/http_durable.sh [options], --help.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

server=$root/build/release/server/taskorch-server
server_cpus=1
wrk_cpus=0
threads=1
engine_threads=
connection_counts="32 256"
wrk_threads=1
duration=10
warmup=2
runs=3
tasks=20000
data_parent=$root/build/bench-results/http-durable-data
out_dir=$root/build/bench-results/http-durable

usage() {
  cat <<EOF
usage: bench/http_durable.sh [options]

  --server PATH          taskorch-server binary (default: build/release/server/taskorch-server)
  --server-cpus LIST     CPUs for both servers, taskset syntax (default: $server_cpus)
  --wrk-cpus LIST        CPUs for wrk (default: $wrk_cpus)
  --threads N            taskorch HTTP threads (default: $threads)
  --engine-threads N     taskorch engine threads (default: the number of --server-cpus)
  --connections "N ..."  wrk connection counts (default: "$connection_counts")
  --wrk-threads N        wrk threads (default: $wrk_threads)
  --duration SECONDS     per run (default: $duration)
  --warmup SECONDS       one unrecorded run per server and connection count, 0 for none
                         (default: $warmup)
  --runs N               runs per server and connection count (default: $runs)
  --tasks N              running tasks in the fleet (default: $tasks)
  --data-parent DIR      where the data directory is made: a disk, not tmpfs
                         (default: build/bench-results/http-durable-data)
  --out-dir DIR          raw wrk outputs, logs and summary (default: build/bench-results/http-durable)
  --help                 this text
EOF
}

die() {
  echo "http_durable: $*" >&2
  exit 1
}

while (($#)); do
  case $1 in
    --help | -h) usage; exit 0 ;;
    --server | --server-cpus | --wrk-cpus | --threads | --engine-threads | --connections | \
      --wrk-threads | --duration | --warmup | --runs | --tasks | --data-parent | --out-dir)
      (($# >= 2)) || die "$1 needs a value"
      value=$2
      case $1 in
        --server) server=$value ;;
        --server-cpus) server_cpus=$value ;;
        --wrk-cpus) wrk_cpus=$value ;;
        --threads) threads=$value ;;
        --engine-threads) engine_threads=$value ;;
        --connections) connection_counts=$value ;;
        --wrk-threads) wrk_threads=$value ;;
        --duration) duration=$value ;;
        --warmup) warmup=$value ;;
        --runs) runs=$value ;;
        --tasks) tasks=$value ;;
        --data-parent) data_parent=$value ;;
        --out-dir) out_dir=$value ;;
      esac
      shift 2
      ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

for n in threads wrk_threads duration warmup runs tasks; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "--${n//_/-} needs a number, got '${!n}'"
done
((threads >= 1 && wrk_threads >= 1 && duration >= 1 && runs >= 1)) ||
  die "--threads, --wrk-threads, --duration and --runs must be at least 1"
for c in $connection_counts; do
  if ! [[ $c =~ ^[0-9]+$ ]] || ((c < wrk_threads)); then die "bad connection count '$c'"; fi
  # A window's resume is sent only after its pause was answered (pause_resume10.lua).
  ((tasks / 10 / wrk_threads > c)) || die "--tasks must exceed 10 x wrk threads x $c"
done

missing=()
for tool in wrk taskset curl python3; do command -v $tool >/dev/null || missing+=("$tool"); done
((${#missing[@]} == 0)) || die "missing tools: ${missing[*]} (Debian: wrk util-linux curl python3)"
[[ -x $server ]] || die "no taskorch-server at $server; build it or pass --server PATH"
[[ -n $engine_threads ]] || engine_threads=$(taskset -c "$server_cpus" nproc)

# ---- workspace -----------------------------------------------------------------------------
mkdir -p "$out_dir" "$data_parent"
out_dir=$(cd "$out_dir" && pwd)
data_parent=$(cd "$data_parent" && pwd)
work=$(mktemp -d "$data_parent/run.XXXXXX")
fs_type=$(findmnt -n -o FSTYPE -T "$work" 2>/dev/null || stat -f -c %T "$work")
[[ $fs_type != tmpfs && $fs_type != ramfs ]] || die "$data_parent is on $fs_type: pass a disk with --data-parent"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

project=054ba152d480d55b2f5dc0069e7ddef0
token=bench-token
lua=$here/pause_resume10.lua

# The fleet: `tasks` running tasks of the project; their ids, one a line, for the Lua script.
python3 - "$tasks" "$project" "$work/fleet.json" "$work/ids.txt" <<'EOF'
import json, sys
tasks, project, fleet, ids = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
names = [f"{i:08x}-0000-4000-8000-{i:07x}jb000" for i in range(tasks)]
with open(fleet, "w") as f:
    json.dump({"jobs": [{"id": n, "project_id": project, "db_use_type": "migration",
                         "status": "INCRE_TRANSFER_STARTED"} for n in names]}, f)
with open(ids, "w") as f:
    f.write("\n".join(names) + "\n")
# Resumes of every task, 10 000 a request (--max-jobs): bring a server back to all running.
for k in range(0, tasks, 10000):
    with open(f"{ids}.resume-{k // 10000}.json", "w") as f:
        json.dump({"jobs": [{"job_id": n} for n in names[k:k + 10000]]}, f)
EOF

# ---- fsync latency: write + fdatasync of one request's records, on the same filesystem -----
# 560 bytes = 10 records of 56 bytes (a set_state frame; taskorch-bench's durable/floor
# reports the measured size as bytes_per_record).
fsync_ms=$(python3 - "$work/fsync-probe" <<'EOF'
import os, statistics, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
data, took = b"r" * 560, []
for _ in range(300):
    begin = time.perf_counter()
    os.write(fd, data)
    os.fdatasync(fd)
    took.append(time.perf_counter() - begin)
os.close(fd)
os.unlink(sys.argv[1])
print(f"{statistics.median(took) * 1e3:.3f}")
EOF
)

# ---- servers -------------------------------------------------------------------------------
start_server() { # name, then its flags; sets port[name]
  local name=$1 log=$out_dir/server-$1.log
  shift
  taskset -c "$server_cpus" "$server" --listen 127.0.0.1:0 --threads "$threads" \
    --engine-threads "$engine_threads" --fleet "$work/fleet.json" --token "$token:$project" \
    --max-connections 1024 "$@" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do
    port[$name]=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\)$|\1|p' "$log")
    [[ -n ${port[$name]} ]] && grep -q '^registry:' "$log" && return
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  cat "$log" >&2
  die "taskorch-server ($name) did not start"
}
declare -A port
start_server in-memory --in-memory
start_server always --data-dir "$work/data" --durability always
servers=(in-memory always)

metric() { # port name: the value of an unlabelled metric
  curl -s "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'
}

echo "taskorch:   $server, $threads HTTP thread(s), $engine_threads engine thread(s), CPUs $server_cpus"
echo "wrk:        $wrk_threads thread(s), connections $connection_counts, ${duration}s x $runs runs each, CPUs $wrk_cpus"
echo "data dir:   $work/data ($fs_type)"
echo "fleet:      $tasks running tasks; every request pauses or resumes 10 of them"
echo "fsync:      median write+fdatasync of 560 bytes: $fsync_ms ms"
echo "raw output: $out_dir"

run_wrk() { # name connections seconds output
  TASKORCH_IDS=$work/ids.txt TASKORCH_WRK_THREADS=$wrk_threads TASKORCH_TOKEN=$token \
    taskset -c "$wrk_cpus" wrk -t "$wrk_threads" -c "$2" -d "$3s" --latency --timeout 10s \
    -s "$lua" "http://127.0.0.1:${port[$1]}/v3/$project/jobs/" >"$4" 2>&1 ||
    die "wrk failed: $(cat "$4")"
  ! grep -q 'Non-2xx or 3xx responses' "$4" || die "$1 answered non-2xx responses (see $4)"
  grep -q '^Requests/sec:' "$4" || die "cannot read wrk output $4"
}
resume_all() { # name: every task running again, so that the next run's pauses all change
  local body
  for body in "$work"/ids.txt.resume-*.json; do
    [[ $(curl -s -o /dev/null -w '%{http_code}' -X POST -H "X-Auth-Token: $token" \
      -H 'Content-Type: application/json' --data-binary "@$body" \
      "http://127.0.0.1:${port[$1]}/v3/$project/jobs/batch-retry-task") == 200 ]] ||
      die "$1: resuming every task failed"
  done
}
requests_per_s() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
requests() { awk '/requests in/ { print $1 }' "$1"; }
p99_ms() {
  awk '$1 == "99%" {
    v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
    f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : -1
    if (f < 0) exit 1
    printf "%.3f\n", v * f; found = 1
  } END { if (!found) exit 1 }' "$1"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A rps p99 syncs_per_s per_sync med
for c in $connection_counts; do
  if ((warmup > 0)); then
    for name in "${servers[@]}"; do
      run_wrk "$name" "$c" "$warmup" "$out_dir/warmup-$name-c$c.txt"
      resume_all "$name"
    done
  fi
  for ((r = 1; r <= runs; r++)); do
    for name in "${servers[@]}"; do
      file=$out_dir/wrk-$name-c$c-$r.txt
      if [[ $name == always ]]; then
        syncs0=$(metric "${port[always]}" taskorch_storage_journal_syncs_total)
        records0=$(metric "${port[always]}" taskorch_storage_journal_records_total)
      fi
      run_wrk "$name" "$c" "$duration" "$file"
      rps[$name,$c,$r]=$(requests_per_s "$file")
      p99[$name,$c,$r]=$(p99_ms "$file") || die "no 99% latency in $file"
      line=$(printf 'c=%-4d run %d %-9s %9.0f req/s  p99 %8.3f ms' "$c" "$r" "$name" "${rps[$name,$c,$r]}" "${p99[$name,$c,$r]}")
      if [[ $name == always ]]; then
        syncs=$(($(metric "${port[always]}" taskorch_storage_journal_syncs_total) - syncs0))
        records=$(($(metric "${port[always]}" taskorch_storage_journal_records_total) - records0))
        done_requests=$(requests "$file")
        # Every answered request wrote its 10 records (requests cut off at the end may too).
        ((records >= 10 * done_requests)) ||
          die "always: $records journal records for $done_requests requests (expected 10 each)"
        syncs_per_s[$c,$r]=$(awk -v s="$syncs" -v d="$duration" 'BEGIN { printf "%.0f", s / d }')
        per_sync[$c,$r]=$(awk -v n="$done_requests" -v s="$syncs" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }')
        line+=$(printf '  %6d fsync/s  %6.1f requests/fsync' "${syncs_per_s[$c,$r]}" "${per_sync[$c,$r]}")
      fi
      resume_all "$name"  # after reading /metrics: its records are not the run's
      echo "$line"
    done
  done
done

# ---- summary -------------------------------------------------------------------------------
{
echo
echo "fsync latency (median of 300 write+fdatasync of 560 bytes on $fs_type): $fsync_ms ms"
printf '%-5s | %-9s | %12s | %11s | %9s | %14s\n' conns server "median req/s" "median p99" "fsync/s" "requests/fsync"
for c in $connection_counts; do
  for name in "${servers[@]}"; do
    m_rps=$(for ((r = 1; r <= runs; r++)); do echo "${rps[$name,$c,$r]}"; done | median)
    m_p99=$(for ((r = 1; r <= runs; r++)); do echo "${p99[$name,$c,$r]}"; done | median)
    m_sps=- m_per=-
    if [[ $name == always ]]; then
      m_sps=$(for ((r = 1; r <= runs; r++)); do echo "${syncs_per_s[$c,$r]}"; done | median)
      m_per=$(for ((r = 1; r <= runs; r++)); do echo "${per_sync[$c,$r]}"; done | median)
    fi
    printf '%-5s | %-9s | %12.0f | %8.3f ms | %9s | %14s\n' "$c" "$name" "$m_rps" "$m_p99" "$m_sps" "$m_per"
    med[$name]=$m_rps
  done
  awk -v c="$c" -v mem="${med[in-memory]}" -v dur="${med[always]}" -v f="$fsync_ms" 'BEGIN {
    disk = c / (f / 1000); bound = (mem < disk) ? mem : disk; q = dur / bound
    printf "goal c=%d: always %.0f / min(in-memory %.0f, %d / %.3f ms = %.0f) = %.2f (>= 0.8: %s)\n",
      c, dur, mem, c, f, disk, q, (q >= 0.8 ? "PASS" : "MISS") }'
done
} | tee "$out_dir/summary.txt"
