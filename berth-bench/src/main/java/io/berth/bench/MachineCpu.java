package io.berth.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * CPU time the whole machine has spent running tasks, for "CPU per pod" during a runtime's turn: the daemon, its
 * monitors, runc, CNI plugins, kernel threads and the client alike. Rounds of pods started at once saturate the
 * cores here, so their latency follows this figure; it is also far less noisy than latency on a shared machine.
 *
 * <p>Read from the root cgroup's counter: cgroup v1 {@code cpuacct.usage} (nanoseconds, charged by the scheduler),
 * else cgroup v2 {@code cpu.stat usage_usec}, else {@code /proc/stat} (10 ms ticks).
 */
final class MachineCpu {
    private static final Path V1 = Path.of("/sys/fs/cgroup/cpuacct/cpuacct.usage");
    private static final List<Path> V2 = List.of(Path.of("/sys/fs/cgroup/cpu.stat"),
            Path.of("/sys/fs/cgroup/unified/cpu.stat"));
    private static final Path PROC_STAT = Path.of("/proc/stat");
    private static final long TICK_NANOS = 10_000_000L; // USER_HZ is 100 on Linux

    private MachineCpu() {}

    /** Busy CPU time so far, in nanoseconds; only differences mean anything. */
    static long nanos() {
        try {
            if (Files.isReadable(V1)) {
                return Long.parseLong(Files.readString(V1).trim());
            }
            for (Path p : V2) {
                Optional<Long> usec = usageUsec(Files.isReadable(p) ? Files.readString(p) : "");
                if (usec.isPresent()) {
                    return usec.get() * 1_000L;
                }
            }
            return procStatBusyTicks(Files.readString(PROC_STAT)) * TICK_NANOS;
        } catch (IOException e) {
            throw new BenchException("cannot read the machine's CPU time: " + e.getMessage(), e);
        }
    }

    /** {@code usage_usec} of a cgroup v2 {@code cpu.stat}, if it has one. */
    static Optional<Long> usageUsec(String cpuStat) {
        for (String line : cpuStat.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 2 && f[0].equals("usage_usec")) {
                return Optional.of(Long.parseLong(f[1]));
            }
        }
        return Optional.empty();
    }

    /** Ticks of the first ({@code cpu}) line of /proc/stat that were not idle or waiting for I/O (proc(5)). */
    static long procStatBusyTicks(String procStat) {
        String first = procStat.lines().findFirst().orElse("");
        String[] f = first.trim().split("\\s+");
        if (f.length < 5 || !f[0].equals("cpu")) {
            throw new BenchException("unexpected /proc/stat: " + first);
        }
        long busy = 0;
        // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user and nice.
        for (int i = 1; i < Math.min(f.length, 9); i++) {
            if (i != 4 && i != 5) {
                busy += Long.parseLong(f[i]);
            }
        }
        return busy;
    }
}
