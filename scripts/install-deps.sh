#!/usr/bin/env bash
# Installs the Debian 12 packages taskorch needs to build and test, skipping those present.
# Chromium, its driver and Python's selenium run the console's browser test (tests/browser);
# the WenQuanYi font lets its screenshots show Chinese.
set -euo pipefail

packages=(
  cmake ninja-build g++ clang libclang-rt-14-dev clang-format clang-tidy
  libboost1.81-dev libboost-json1.81-dev libfmt-dev libsimdjson-dev
  googletest libgtest-dev libgmock-dev librapidcheck-dev
  libbenchmark-dev libtbb-dev libcuckoo-dev libssl-dev
  python3 prometheus curl
  postgresql-15 libpq-dev
  chromium chromium-driver python3-selenium fonts-wqy-microhei
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm (for the OpenAPI contract test): Debian's, unless a node is already there.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
