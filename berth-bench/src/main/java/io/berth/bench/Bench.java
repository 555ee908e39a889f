package io.berth.bench;

import io.berth.cri.api.ImageSpec;
import io.berth.cri.api.PullImageRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Side-by-side benchmark of Berth against containerd on this machine, through one CRI client:
 * {@code Bench [pull|podstart|memory|all] [--only containerd|berth] [--runs N] [--pods N] [--parallel N] [--repeat N]
 * [--berthd PATH] [--results DIR] [--cache DIR]}. Needs root. Prints a table and writes JSON under the results dir.
 */
public final class Bench {

    private static final String USAGE = """
            usage: bench [pull|podstart|memory|all] [options]
              --only containerd|berth   run one runtime only (no ratios)
              --runs N                  cold pulls per runtime (default 5)
              --pods N                  pods per phase (default 50)
              --parallel N              pods in flight in the concurrent phase (default 10)
              --repeat N                podstart: run both phases N times and pool them (default 1)
              --berthd PATH             berthd launcher (default <repo>/bin/berthd)
              --results DIR             where the JSON goes (default <repo>/berth-bench/target/bench-results)
              --cache DIR               built image cache (default <repo>/berth-bench/target/bench-cache)
            """;

    /** Parsed command line. */
    record Options(String command, List<String> runtimes, int runs, int pods, int parallel, int repeat, Path berthd,
                   Path results, Path cache) {

        static Options parse(String[] args, Path home) {
            String command = "all";
            List<String> runtimes = List.of("containerd", "berth");
            int runs = 5;
            int pods = 50;
            int parallel = 10;
            int repeat = 1;
            Path berthd = home.resolve("bin/berthd");
            Path results = home.resolve("berth-bench/target/bench-results");
            Path cache = home.resolve("berth-bench/target/bench-cache");
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "pull", "podstart", "memory", "all" -> command = a;
                    case "--only" -> {
                        String rt = value(args, ++i, a);
                        if (!rt.equals("containerd") && !rt.equals("berth")) {
                            throw new IllegalArgumentException("--only takes containerd or berth, not " + rt);
                        }
                        runtimes = List.of(rt);
                    }
                    case "--runs" -> runs = positive(value(args, ++i, a), a);
                    case "--pods" -> pods = positive(value(args, ++i, a), a);
                    case "--parallel" -> parallel = positive(value(args, ++i, a), a);
                    case "--repeat" -> repeat = positive(value(args, ++i, a), a);
                    case "--berthd" -> berthd = Path.of(value(args, ++i, a)).toAbsolutePath();
                    case "--results" -> results = Path.of(value(args, ++i, a)).toAbsolutePath();
                    case "--cache" -> cache = Path.of(value(args, ++i, a)).toAbsolutePath();
                    default -> throw new IllegalArgumentException("unknown argument " + a);
                }
            }
            return new Options(command, runtimes, runs, pods, parallel, repeat, berthd, results, cache);
        }

        private static String value(String[] args, int i, String flag) {
            if (i >= args.length) {
                throw new IllegalArgumentException(flag + " needs a value");
            }
            return args[i];
        }

        private static int positive(String v, String flag) {
            try {
                int n = Integer.parseInt(v);
                if (n > 0) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // fall through
            }
            throw new IllegalArgumentException(flag + " takes a positive integer, not " + v);
        }

        boolean wants(String bench) {
            return command.equals("all") || command.equals(bench);
        }
    }

    private Bench() {}

    /** grpc-netty logs a harmless channel-option warning on unix sockets; keep the output to results. */
    private static final java.util.logging.Logger NETTY_LOG = java.util.logging.Logger.getLogger("io.grpc.netty.shaded.io.netty");

    public static void main(String[] args) throws Exception {
        NETTY_LOG.setLevel(java.util.logging.Level.SEVERE);
        Options options;
        try {
            options = Options.parse(args, Path.of(System.getProperty("berth.home", ".")).toAbsolutePath().normalize());
        } catch (IllegalArgumentException e) {
            System.err.println("bench: " + e.getMessage());
            System.err.print(USAGE);
            System.exit(2);
            return;
        }
        if (!isRoot()) {
            System.err.println("bench: needs root (it starts containerd/berthd, mounts overlays, creates netns)");
            System.exit(2);
        }
        Session session = new Session(options);
        // Ctrl-C or SIGTERM still tears everything down; close() runs once whichever path gets there first.
        Thread hook = new Thread(session::close, "bench-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        int code;
        try {
            code = session.run();
        } finally {
            session.close();
            Runtime.getRuntime().removeShutdownHook(hook);
        }
        System.exit(code);
    }

    private static boolean isRoot() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("Uid:")).anyMatch(l -> l.split("\\s+")[1].equals("0"));
    }

    /** One benchmark run: its temp dir, registry, runtimes, report; closing leaves nothing behind. */
    static final class Session implements AutoCloseable {

        static final String BRIDGE = "bbench0";
        static final String SUBNET = "10.89.0.0/16";

        private final Options options;
        private final Report report = new Report();
        private final List<RuntimeUnderTest> runtimes = new ArrayList<>();
        private final AtomicBoolean closed = new AtomicBoolean();
        private Path base;
        private LocalRegistry registry;
        private boolean createdContainerdRunDir;

        Session(Options options) {
            this.options = options;
        }

        int run() throws Exception {
            base = Files.createTempDirectory(Path.of("/var/tmp"), "berth-bench-");
            createdContainerdRunDir = !Files.exists(Path.of("/run/containerd"));
            System.out.println("[setup] work dir " + base);
            BenchImages images = new BenchImages(options.cache());
            long t0 = System.nanoTime();
            BenchImages.BuiltImage busybox = images.busybox();
            BenchImages.BuiltImage pause = images.pause();
            BenchImages.BuiltImage big = options.wants("pull") ? images.big() : null;
            System.out.printf("[setup] images ready in %.1f s (cache %s)%n", (System.nanoTime() - t0) / 1e9, options.cache());

            registry = LocalRegistry.start(base.resolve("registry"));
            registry.push(busybox);
            registry.push(pause);
            if (big != null) {
                registry.push(big);
            }
            System.out.println("[setup] registry " + registry.url() + " (pid " + registry.pid() + ")");

            Path cniConf = writeCniConfig(base.resolve("cni"));
            BenchEnvironment env = new BenchEnvironment(base, registry, cniConf, Path.of("/usr/lib/cni"),
                    registry.reference(pause), options.wants("podstart") || options.wants("memory"),
                    options.results().resolve("logs"));
            for (String name : options.runtimes()) {
                RuntimeUnderTest rt = name.equals("containerd") ? new ContainerdUnderTest() : new BerthdUnderTest(options.berthd());
                runtimes.add(rt);
                rt.start(env);
                System.out.println("[setup] " + rt.name() + " up: " + rt.describe() + ", pid " + rt.daemonPid());
                report.environment(rt.name(), rt.describe());
            }
            report.environment("host", hostLine());
            report.environment("cni", "bridge " + BRIDGE + " + host-local " + SUBNET + " + portmap, no masquerade");

            String busyboxRef = registry.reference(busybox);
            if (options.wants("podstart") || options.wants("memory")) {
                for (RuntimeUnderTest rt : runtimes) {
                    rt.cri().imagesForPull().pullImage(PullImageRequest.newBuilder()
                            .setImage(ImageSpec.newBuilder().setImage(busyboxRef)).build());
                }
            }
            Path logs = base.resolve("pod-logs");
            if (options.wants("pull")) {
                new PullBench(runtimes, registry.reference(big), big, options.runs(), report).run();
            }
            if (options.wants("podstart")) {
                new PodStartBench(runtimes, busyboxRef, logs, options.pods(), options.parallel(), options.repeat(),
                        report).run();
            }
            if (options.wants("memory")) {
                new MemoryBench(runtimes, busyboxRef, logs, options.pods(), options.parallel(), report).run();
            }
            report.print(System.out);
            Path json = report.writeJson(options.results());
            System.out.println("JSON: " + json);
            return 0;
        }

        private static String hostLine() {
            String kernel = Exec.run(List.of("uname", "-r")).output().strip();
            return Runtime.getRuntime().availableProcessors() + " CPUs, kernel " + kernel + ", java " + System.getProperty("java.version");
        }

        private Path writeCniConfig(Path dir) throws IOException {
            Path conf = dir.resolve("net.d");
            Files.createDirectories(conf);
            Files.writeString(conf.resolve("10-berth-bench.conflist"), """
                    {
                      "cniVersion": "1.0.0",
                      "name": "berth-bench",
                      "plugins": [
                        {
                          "type": "bridge",
                          "bridge": "%s",
                          "isGateway": true,
                          "ipMasq": false,
                          "hairpinMode": true,
                          "ipam": {
                            "type": "host-local",
                            "dataDir": "%s",
                            "ranges": [[{"subnet": "%s"}]],
                            "routes": [{"dst": "0.0.0.0/0"}]
                          }
                        },
                        {"type": "portmap", "capabilities": {"portMappings": true}}
                      ]
                    }
                    """.formatted(BRIDGE, dir.resolve("ipam"), SUBNET));
            return conf;
        }

        /** Pod cgroups left under {@link PodSpecs#CGROUP_PARENT} once the runtimes removed their containers. */
        private static void removeCgroups() {
            try (var hierarchies = Files.list(Path.of("/sys/fs/cgroup"))) {
                for (Path h : hierarchies.toList()) {
                    Path parent = h.resolve(PodSpecs.CGROUP_PARENT);
                    if (!Files.isDirectory(parent)) {
                        continue;
                    }
                    try (var walk = Files.walk(parent)) {
                        for (Path d : walk.filter(Files::isDirectory).sorted(java.util.Comparator.reverseOrder()).toList()) {
                            try {
                                Files.delete(d); // rmdir: the kernel refuses while a cgroup has processes
                            } catch (IOException e) {
                                System.err.println("[cleanup] cgroup " + d + ": " + e.getMessage());
                            }
                        }
                    }
                }
            } catch (IOException e) {
                System.err.println("[cleanup] cgroups: " + e.getMessage());
            }
        }

        @Override
        public void close() {
            if (!closed.compareAndSet(false, true)) {
                return;
            }
            List<RuntimeUnderTest> reversed = new ArrayList<>(runtimes);
            Collections.reverse(reversed);
            for (RuntimeUnderTest rt : reversed) {
                try {
                    rt.close();
                } catch (RuntimeException e) {
                    System.err.println("[cleanup] " + rt.name() + ": " + e.getMessage());
                }
            }
            if (registry != null) {
                registry.close();
            }
            removeCgroups();
            if (createdContainerdRunDir) {
                // containerd 1.6 puts shim sockets in /run/containerd/s whatever its state dir; remove what it made.
                try {
                    Files.deleteIfExists(Path.of("/run/containerd/s"));
                    Files.deleteIfExists(Path.of("/run/containerd"));
                } catch (IOException e) {
                    System.err.println("[cleanup] /run/containerd: " + e.getMessage());
                }
            }
            if (Files.exists(Path.of("/sys/class/net", BRIDGE))) {
                Exec.run(List.of("ip", "link", "del", BRIDGE));
            }
            if (base != null) {
                try {
                    HostFiles.unmountAllUnder(base);
                    HostFiles.deleteTree(base);
                } catch (RuntimeException e) {
                    System.err.println("[cleanup] " + e.getMessage());
                }
                System.out.println(String.format(Locale.ROOT, "[cleanup] removed %s", base));
            }
        }
    }
}
