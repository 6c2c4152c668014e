#!/usr/bin/env bash
# Fails when a tracked C++ file differs from what clang-format (the repository's
# .clang-format) would make of it. Usage: scripts/check-format.sh
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files -z '*.hpp' '*.cpp' | xargs -0 clang-format --dry-run --Werror
echo "check-format: every C++ file is clang-formatted"
