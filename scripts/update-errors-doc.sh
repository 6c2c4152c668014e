#!/usr/bin/env bash
# Regenerates docs/errors.md from the error tables with taskorch-errors-doc.
# Usage: scripts/update-errors-doc.sh [build-dir]
#   build-dir: a configured build tree to build the tool in (default: build/errors-doc,
#   configured here without tests). Set TASKORCH_ERRORS_DOC to use an already built tool.
set -euo pipefail
cd "$(dirname "$0")/.."

tool=${TASKORCH_ERRORS_DOC:-}
if [ -z "$tool" ]; then
  build=${1:-build/errors-doc}
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DTASKORCH_BUILD_TESTS=OFF -DTASKORCH_INSTALL=OFF >/dev/null
  fi
  cmake --build "$build" --target taskorch-errors-doc
  tool=$build/tools/taskorch-errors-doc
fi

# Write to a temporary file first, so that a failure leaves docs/ as it was.
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
"$tool" >"$tmp"
cp "$tmp" docs/errors.md
echo "wrote docs/errors.md"
