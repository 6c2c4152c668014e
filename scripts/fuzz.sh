#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`: clang, ASan + UBSan) and runs each for a bounded
# time on a scratch copy of its seed corpus. Usage: scripts/fuzz.sh [seconds per target, default 30]
# (-fno-sanitize=function: clang 14 cannot emit that check for coroutine frames.)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
for target in body_parser http_request; do
  case $target in
    body_parser) seeds=tests/fuzz/corpus/body ;;
    http_request) seeds=tests/fuzz/corpus/http ;;
  esac
  work=$(mktemp -d)
  cp "$seeds"/* "$work"/
  echo "=== fuzz $target for ${seconds}s ==="
  build/fuzz/tests/fuzz/taskorch-fuzz-$target -max_total_time="$seconds" -max_len=4096 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$work" 2>&1 |
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ *DONE)|ERROR|SUMMARY' || true
  status=${PIPESTATUS[0]}
  rm -rf "$work"
  if [ "$status" -ne 0 ]; then
    echo "fuzzer $target failed (exit $status)"
    exit 1
  fi
done
