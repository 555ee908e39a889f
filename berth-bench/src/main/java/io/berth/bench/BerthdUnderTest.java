package io.berth.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * berthd started through its launcher, {@code bin/berthd --config FILE}, with its own root, state and socket, the
 * same CNI conflist and the same local registry (plain HTTP for that loopback host) as containerd. Everything else is
 * berthd's default, notably its catatonit infra process instead of a pause image.
 */
final class BerthdUnderTest extends DaemonRuntime {

    private final Path launcher;

    BerthdUnderTest(Path launcher) {
        this.launcher = launcher;
    }

    @Override
    public String name() {
        return "berth";
    }

    @Override
    Path socket(Path dir) {
        return dir.resolve("berth.sock");
    }

    @Override
    public Path contentDir() {
        return privateDir().resolve("root");
    }

    @Override
    List<String> command(BenchEnvironment env, Path dir) throws IOException {
        if (!Files.isExecutable(launcher)) {
            throw new BenchException(launcher + " is missing or not executable; build berthd first, or pass --only containerd");
        }
        Path config = dir.resolve("berthd.toml");
        Files.writeString(config, """
                root = "%1$s/root"
                state = "%1$s/state"

                [grpc]
                address = "%2$s"

                [registry.hosts."%3$s"]
                server = "%4$s"

                [network]
                conf_dirs = ["%5$s"]
                plugin_dirs = ["%6$s"]
                """.formatted(dir, socket(dir), env.registry().host(), env.registry().url(), env.cniConfDir(),
                env.cniBinDir()) + extraToml());
        return List.of(launcher.toString(), "--config", config.toString());
    }

    /** Config to compare, from {@code BENCH_BERTHD_TOML} (appended as is), e.g. {@code [runtime] spare_rootfs = 0}. */
    private static String extraToml() {
        String extra = System.getenv("BENCH_BERTHD_TOML");
        return extra == null || extra.isBlank() ? "" : "\n" + extra.replace("\\n", "\n") + "\n";
    }

    /**
     * The JVM: the launcher may exec java (then it is the launched pid) or stay as its parent (then the java child).
     */
    @Override
    public long daemonPid() {
        long pid = process().pid();
        return process().descendants()
                .filter(h -> h.info().command().map(c -> c.endsWith("/java")).orElse(false))
                .mapToLong(ProcessHandle::pid)
                .findFirst()
                .orElse(pid);
    }
}
