package io.berth.runtime;

/**
 * A container's usage as a sandboxed runtime reports it from inside its sandbox (gVisor's {@code runsc events
 * --stats}), for containers that have no cgroup of their own on the host.
 *
 * @param cpuUsageNanos CPU time used, cumulative
 * @param memoryUsageBytes memory in use
 * @param pids processes (and threads) in the container
 */
public record SandboxedStats(long cpuUsageNanos, long memoryUsageBytes, long pids) {}
