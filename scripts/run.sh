#!/usr/bin/env bash
# Installs what is missing, builds the release preset and starts taskorch-server on its
# built-in demo fleet (it prints the address and a ready-to-paste curl command).
# Extra arguments go to the server, e.g. scripts/run.sh --listen 127.0.0.1:9000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target taskorch-server
exec build/release/server/taskorch-server "$@"
