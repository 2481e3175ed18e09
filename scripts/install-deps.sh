#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages nooks needs to build, test, demo and benchmark.
# Idempotent: packages already present are skipped, so `make demo` and `make test`
# stay fast on a machine that has everything.
set -euo pipefail

packages=(
  # toolchain and build
  g++ cmake ninja-build make pkg-config
  # the thread-safety analysis build (the tsa preset)
  clang-16
  # libraries
  libfuse3-dev fuse3 libseccomp-dev libcapstone-dev libcli11-dev libfmt-dev libspdlog-dev
  nlohmann-json3-dev libtomlplusplus-dev libgtest-dev libgmock-dev libbenchmark-dev
  # the real applications and tools the demo, tests and benchmarks drive
  e2fsprogs util-linux mount sqlite3 gcc fio flac kmod procps
  # the network class: namespaces and TAPs (iproute2), and the programs run over the net driver
  iproute2 iputils-ping curl iperf3 tcpdump python3 openssh-server openssh-client nginx-light wrk
  # the sound class: OSS and ALSA applications (alsa-lib's oss plugin), and the tools that make their references
  mpg123 espeak-ng alsa-utils libasound2-plugins sox libsox-fmt-oss lame python3-pygame
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "nooks: missing Debian packages: ${missing[*]}" >&2
  echo "nooks: run as root (or: sudo $0) to install them" >&2
  exit 1
fi

echo "nooks: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
