#!/usr/bin/env bash
# Regenerates docs/state-machine.md and docs/state-machine.dot from the transition table with
# taskorch-state-doc, then renders docs/state-machine.svg with Graphviz (`dot`).
# Usage: scripts/update-state-doc.sh [build-dir]
#   build-dir: a configured build tree to build the tool in (default: build/state-doc,
#   configured here without tests). Set TASKORCH_STATE_DOC to use an already built tool.
set -euo pipefail
cd "$(dirname "$0")/.."

tool=${TASKORCH_STATE_DOC:-}
if [ -z "$tool" ]; then
  build=${1:-build/state-doc}
  if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DTASKORCH_BUILD_TESTS=OFF -DTASKORCH_INSTALL=OFF >/dev/null
  fi
  cmake --build "$build" --target taskorch-state-doc
  tool=$build/tools/taskorch-state-doc
fi

if ! command -v dot >/dev/null; then
  echo "update-state-doc: Graphviz 'dot' is needed to render the SVG (apt-get install graphviz)" >&2
  exit 1
fi

# Write to temporary files first, so that a failure leaves docs/ as it was.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$tool" --markdown >"$tmp/state-machine.md"
"$tool" --dot >"$tmp/state-machine.dot"
dot -Tsvg "$tmp/state-machine.dot" -o "$tmp/state-machine.svg"
for f in state-machine.md state-machine.dot state-machine.svg; do
  cp "$tmp/$f" "docs/$f"
  echo "wrote docs/$f"
done
