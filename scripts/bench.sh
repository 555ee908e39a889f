#!/usr/bin/env bash
# Side-by-side benchmark: Berth against Debian's containerd 1.6, same machine, same CRI client, same registry and CNI.
#   scripts/bench.sh [pull|podstart|memory|all] [--only containerd|berth] [--runs N] [--pods N] [--parallel N] [--repeat N]
# Prints medians, spread and the ratio Berth/containerd; writes JSON to berth-bench/target/bench-results/.
# Needs root. Starts and stops its own registry, containerd and berthd under /var/tmp/berth-bench-*; leaves nothing.
# Build: BENCH_BUILD=module (default: berth-bench only, its deps from ~/.m2), all (mvn install of the whole project,
# which also builds berthd), none (use what is built). BENCH_BERTHD_TOML: TOML appended to berthd's config (say
# "[runtime]\nspare_rootfs = 0"), to compare settings. BENCH_CLIENT_JAVA_OPTS: the client JVM's options (default
# -XX:TieredStopAtLevel=1: its C2 compiles took most of a core early in a run, from both runtimes alike).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
[ "$(id -u)" = 0 ] || { echo "scripts/bench.sh: needs root" >&2; exit 1; }
export JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
export PATH="$JAVA_HOME/bin:$PATH"
case "${BENCH_BUILD:-module}" in
  module) mvn -q -pl berth-bench package -DskipTests ;;
  all) mvn -q install -DskipTests ;;
  none) ;;
  *) echo "scripts/bench.sh: BENCH_BUILD must be module, all or none" >&2; exit 2 ;;
esac
cp="berth-bench/target/classes:$(cat berth-bench/target/classpath.txt)"
exec java -XX:+UseSerialGC ${BENCH_CLIENT_JAVA_OPTS--XX:TieredStopAtLevel=1} --enable-native-access=ALL-UNNAMED -Dberth.home="$PWD" -cp "$cp" io.berth.bench.Bench "$@"
