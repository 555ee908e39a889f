#!/usr/bin/env bash
# Runs Berth's whole test suite (unit + integration with real runc, crun, runsc, conmon, CNI, registry).
# Needs root. Installs what it needs first. Usage: scripts/test.sh [extra maven args]
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "scripts/test.sh: the integration tests need root" >&2; exit 1; }
scripts/setup.sh
export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
export PATH="$JAVA_HOME/bin:$PATH"
scripts/prepare-test-host.sh
mvn -B -ntp -fae verify "$@"
