#!/usr/bin/env bash
# Installs what is missing, then builds and runs the whole test suite: the plain (g++ debug,
# warnings as errors), AddressSanitizer+UBSan and ThreadSanitizer (clang) builds.
# Usage: scripts/test.sh [dev|asan|tsan]...   (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

presets=("$@")
((${#presets[@]})) || presets=(dev asan tsan)
for preset in "${presets[@]}"; do
  workflow=$preset
  [ "$preset" = dev ] && workflow=ci
  echo "=== $preset ==="
  start=$(date +%s)
  cmake --workflow --preset "$workflow"
  echo "=== $preset: $(( $(date +%s) - start )) s ==="
done
