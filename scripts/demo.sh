#!/usr/bin/env bash
# Berth's main job on a fresh Debian 12 machine: install what it needs, build, start berthd with the default
# config, and run a demo pod from an image built offline from busybox-static (no network needed).
# berthd keeps running afterwards (pid in /run/berth/berthd.pid; log in /var/log/berthd.log):
#   bin/berthctl pods; bin/berthctl ps -a; bin/berthctl images; kill $(cat /run/berth/berthd.pid)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "scripts/demo.sh: berthd needs root" >&2; exit 1; }
scripts/setup.sh
export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
export PATH="$JAVA_HOME/bin:$PATH"
echo "== building Berth"
mvn -q -B -ntp install -DskipTests -DskipITs
# The default CNI network (bridge + host-local 10.88.0.0/16 + portmap; no masquerade), unless one exists.
if ! ls /etc/cni/net.d/*.conf* >/dev/null 2>&1; then
  install -D -m 0644 deploy/cni/10-berth.conflist /etc/cni/net.d/10-berth.conflist
fi
if [ -S /run/berth/berth.sock ] && bin/berthctl version >/dev/null 2>&1; then
  echo "== berthd already running"
else
  echo "== starting berthd"
  mkdir -p /run/berth
  setsid bin/berthd >>/var/log/berthd.log 2>&1 < /dev/null &
  echo $! > /run/berth/berthd.pid
  for _ in $(seq 1 100); do bin/berthctl version >/dev/null 2>&1 && break; sleep 0.2; done
fi
bin/berthctl version
echo "== importing the demo image (built from busybox-static, offline)"
image=berth.local/demo/busybox:1.0
scripts/build-demo-image.sh /tmp/berth-demo-image.tar "$image" >/dev/null
bin/berthctl images import /tmp/berth-demo-image.tar
rm -f /tmp/berth-demo-image.tar
echo "== running a demo pod"
bin/berthctl run --rm --name berth-demo "$image" \
  sh -c 'echo "hello from a Berth pod: $(hostname), kernel $(uname -r)"; ip -4 addr show eth0 | grep inet; id'
echo "== done; berthd is still running (bin/berthctl pods, ps -a, images; stop: kill \$(cat /run/berth/berthd.pid))"
