#!/usr/bin/env bash
# Run the CRI validation suite (critest, from kubernetes-sigs/cri-tools) against a private berthd, offline.
#   scripts/critest.sh CRITEST_BINARY [--handler NAME] [extra critest/ginkgo args, e.g. -ginkgo.focus=Networking]
# Brings its own world and removes it afterwards:
#   - the critest kit (../shared/critest-kit next to this repository, or CRITEST_KIT=DIR): a local registry on
#     127.0.0.1:5000 (started with the kit's start-registry.sh, stopped again if this script started it) and the
#     stand-in images (the kit's build-images.sh; CRITEST_BUILD_IMAGES=0 skips it when they are pushed already);
#   - a berthd with its own root, state and socket under CRITEST_WORK (default /var/tmp/berth-critest), mirroring
#     gcr.io, registry.k8s.io, public.ecr.aws and docker.io to that registry, CNI from deploy/cni/10-berth.conflist.
# berthd is built (mvn install of the whole project) only when berth-daemon/target/berthd.jar is missing, or always
# with CRITEST_BUILD=1. critest itself is never built here: bring your own (cri-tools v1.32.0).
# Prints the pass/fail/skip totals from critest's JUnit report, which is kept with berthd's log in
# CRITEST_RESULTS (default /var/tmp/berth-critest-results/HANDLER). Exit status: critest's.
# Needs root, free host ports 12000-12003, and (for crun on a cgroup v1 hybrid host) scripts/prepare-test-host.sh.
set -euo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
usage() { echo "usage: scripts/critest.sh CRITEST_BINARY [--handler NAME] [critest/ginkgo args...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
critest=$(readlink -f "$1"); shift
[ -x "$critest" ] || { echo "scripts/critest.sh: $critest is not an executable critest" >&2; exit 2; }
handler=""
if [ "${1:-}" = --handler ]; then
  [ $# -ge 2 ] || usage
  handler=$2; shift 2
fi
[ "$(id -u)" = 0 ] || { echo "scripts/critest.sh: needs root" >&2; exit 1; }

kit=${CRITEST_KIT:-$repo/../shared/critest-kit}
[ -x "$kit/start-registry.sh" ] || [ -f "$kit/start-registry.sh" ] || {
  echo "scripts/critest.sh: no critest kit at $kit (set CRITEST_KIT)" >&2; exit 2; }
kit=$(cd "$kit" && pwd)
work=${CRITEST_WORK:-/var/tmp/berth-critest}
results=${CRITEST_RESULTS:-/var/tmp/berth-critest-results/${handler:-default}}
registry_base=${REGISTRY_BASE:-/var/tmp/critest-kit/registry}
sock="$work/state/berth.sock"
endpoint="unix://$sock"
crictl=${CRICTL:-crictl}   # used only to wait for berthd and to remove pods at the end (else bin/berthctl)
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
export PATH="$JAVA_HOME/bin:$PATH"

# --- berthd
if [ "${CRITEST_BUILD:-0}" = 1 ] || [ ! -f "$repo/berth-daemon/target/berthd.jar" ]; then
  echo "== building berthd"
  (cd "$repo" && mvn -q -B -ntp install -DskipTests -DskipITs)
fi

# --- registry and images
registry_started=0
if ! { [ -f "$registry_base/registry.pid" ] && kill -0 "$(cat "$registry_base/registry.pid")" 2>/dev/null; }; then
  registry_started=1
fi
bash "$kit/start-registry.sh"
if [ "${CRITEST_BUILD_IMAGES:-1}" != 0 ]; then
  echo "== building the kit's stand-in images"
  bash "$kit/build-images.sh" > "$work.images.log" 2>&1 || { tail -20 "$work.images.log" >&2; exit 1; }
fi

# --- berthd config and start
berthd_pid=""
cleanup() {
  set +e
  if [ -n "$berthd_pid" ] && kill -0 "$berthd_pid" 2>/dev/null; then
    echo "== removing pods and stopping berthd"
    remove_all_pods
    kill -TERM "$berthd_pid"
    for _ in $(seq 1 100); do kill -0 "$berthd_pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$berthd_pid" 2>/dev/null && kill -KILL "$berthd_pid"
    wait "$berthd_pid" 2>/dev/null
  fi
  [ -f "$work/berthd.log" ] && cp "$work/berthd.log" "$results/berthd.log"
  # What stays mounted under its state after berthd stops (the shared ns/netns pin dirs): deepest first.
  if [ -d "$work" ]; then
    awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
      umount -l "$m"
    done
    rm -rf "$work"
  fi
  rm -f "$work.images.log"
  [ "$registry_started" = 1 ] && REGISTRY_BASE=$registry_base bash "$kit/stop-registry.sh"
}
remove_all_pods() {
  local cli ids
  if command -v "$crictl" >/dev/null; then
    cli=("$crictl" --runtime-endpoint "$endpoint" --image-endpoint "$endpoint" --timeout 60s)
    ids=$("${cli[@]}" pods -q 2>/dev/null) || return 0
    [ -z "$ids" ] || "${cli[@]}" rmp -f $ids >/dev/null
  elif [ -f "$repo/berth-cli/target/berthctl.jar" ]; then
    cli=("$repo/bin/berthctl" -r "$endpoint")
    ids=$("${cli[@]}" pods -q 2>/dev/null) || return 0
    [ -z "$ids" ] || "${cli[@]}" rmp -f $ids >/dev/null
  else
    echo "   (no crictl or berthctl to remove pods with; berthd removes nothing on stop)" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -e "$work" ]; then
  echo "scripts/critest.sh: $work exists (another run, or a crashed one: check, then remove it)" >&2
  trap - EXIT; exit 1
fi
mkdir -p "$work/cni" "$results"
rm -f "$results/junit.xml" "$results/berthd.log"
cp "$repo/deploy/cni/10-berth.conflist" "$work/cni/"
mirror() { printf '[registry.hosts."%s"]\nserver = "http://%s"\n' "$1" "${REGISTRY_ADDR:-127.0.0.1:5000}"; }
{
  cat <<EOF
root = "$work/root"
state = "$work/state"

[grpc]
address = "$sock"

[network]
conf_dirs = ["$work/cni"]

[pod]
pause_image = "registry.k8s.io/pause:3.10"

EOF
  for host in gcr.io registry.k8s.io public.ecr.aws docker.io; do mirror "$host"; echo; done
} > "$work/berthd.toml"

echo "== starting berthd (log: $work/berthd.log)"
setsid "$repo/bin/berthd" --config "$work/berthd.toml" > "$work/berthd.log" 2>&1 < /dev/null &
berthd_pid=$!
up=0
for _ in $(seq 1 150); do
  kill -0 "$berthd_pid" 2>/dev/null || break
  if [ -S "$sock" ] && { ! command -v "$crictl" >/dev/null || "$crictl" --runtime-endpoint "$endpoint" version >/dev/null 2>&1; }; then
    up=1; break
  fi
  sleep 0.2
done
[ "$up" = 1 ] || { echo "scripts/critest.sh: berthd did not come up" >&2; tail -20 "$work/berthd.log" >&2; exit 1; }

# --- critest
args=(--runtime-endpoint "$endpoint" --image-endpoint "$endpoint")
[ -n "$handler" ] && args+=(--runtime-handler "$handler")
args+=(-ginkgo.junit-report="$results/junit.xml" -ginkgo.no-color)
echo "== critest ${handler:+(handler $handler) }$*"
rc=0
(cd "$work" && "$critest" "${args[@]}" "$@") 2>&1 | tee "$results/critest.log" || rc=$?

# --- totals from the JUnit report: specs critest ran (passed/failed) or skipped at run time; specs filtered out by
# focus/skip (ginkgo reports them as skipped with the bare message "skipped") and suite nodes are not counted.
if [ -f "$results/junit.xml" ]; then
  python3 - "$results/junit.xml" "${handler:-default}" <<'EOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
passed, failed, skipped = [], [], []
for tc in root.iter("testcase"):
    name = tc.get("name", "")
    if name.startswith("[") and ("Suite]" in name or name.startswith("[ReportAfterSuite]")):
        continue
    status = tc.get("status", "")
    if status == "passed":
        passed.append(name)
    elif status in ("failed", "panicked", "interrupted", "timedout", "aborted"):
        failed.append(name)
    elif status == "skipped":
        s = tc.find("skipped")
        if s is not None and s.get("message", "") != "skipped":
            skipped.append(name)
for name in failed:
    print("FAILED: " + name)
print(f"critest [{sys.argv[2]}]: {len(passed) + len(failed) + len(skipped)} specs run: "
      f"{len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped")
EOF
  echo "   report: $results/junit.xml, berthd log: $results/berthd.log"
else
  echo "scripts/critest.sh: critest wrote no JUnit report" >&2
  [ "$rc" != 0 ] || rc=1
fi
exit "$rc"
