#!/usr/bin/env bash
# Installs what Berth needs on a fresh Debian 12 machine: the JDK is expected at
# /usr/lib/jvm/temurin-25-jdk-amd64; everything else comes from Debian's packages.
# Idempotent; safe to run again.
set -euo pipefail
PACKAGES=(
  runc crun runsc conmon catatonit containernetworking-plugins   # OCI runtimes, monitor, pause, CNI
  busybox-static docker-registry apache2-utils skopeo umoci        # test images and a real registry
  containerd                                                       # the peer the benchmarks measure against
  iproute2 iptables util-linux curl jq sqlite3 maven
  libssl3                                                          # libcrypto: berthd hashes layers with it
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
