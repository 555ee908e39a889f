#!/usr/bin/env bash
# Test-machine setup, never done by berthd itself: on a cgroup v1 "hybrid" host whose cgroup2 mount still lists
# controllers (here: hugetlb), crun 1.8 refuses to run. Mounting a v1 hugetlb hierarchy moves the controller
# out of cgroup2, so the crun tests can run. berthd only detects and reports the situation.
set -euo pipefail
if [ -f /sys/fs/cgroup/unified/cgroup.controllers ] && [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers)" ]; then
  if grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers && ! mountpoint -q /sys/fs/cgroup/hugetlb; then
    mkdir -p /sys/fs/cgroup/hugetlb
    mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
    echo "prepare-test-host: moved hugetlb to a cgroup v1 hierarchy for crun"
  fi
fi
