package io.berth.cli;

import io.berth.cri.api.AttachRequest;
import io.berth.cri.api.Container;
import io.berth.cri.api.ContainerEventResponse;
import io.berth.cri.api.ContainerFilter;
import io.berth.cri.api.ContainerState;
import io.berth.cri.api.ContainerStateValue;
import io.berth.cri.api.ContainerStats;
import io.berth.cri.api.ContainerStatusRequest;
import io.berth.cri.api.ContainerStatusResponse;
import io.berth.cri.api.ExecRequest;
import io.berth.cri.api.ExecSyncRequest;
import io.berth.cri.api.ExecSyncResponse;
import io.berth.cri.api.GetEventsRequest;
import io.berth.cri.api.ListContainerStatsRequest;
import io.berth.cri.api.ListContainerStatsResponse;
import io.berth.cri.api.ListContainersRequest;
import io.berth.cri.api.ListContainersResponse;
import io.berth.cri.api.ListPodSandboxRequest;
import io.berth.cri.api.PodSandbox;
import io.berth.cri.api.PodSandboxStatusRequest;
import io.berth.cri.api.PodSandboxStatusResponse;
import io.berth.cri.api.RemoveContainerRequest;
import io.berth.cri.api.StopContainerRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Commands about containers. */
final class ContainerCommands {

    private ContainerCommands() {
    }

    static String state(ContainerState s) {
        return switch (s) {
            case CONTAINER_CREATED -> "Created";
            case CONTAINER_RUNNING -> "Running";
            case CONTAINER_EXITED -> "Exited";
            default -> "Unknown";
        };
    }

    static ContainerState parseState(String s) {
        return switch (s.toLowerCase()) {
            case "created" -> ContainerState.CONTAINER_CREATED;
            case "running" -> ContainerState.CONTAINER_RUNNING;
            case "exited" -> ContainerState.CONTAINER_EXITED;
            case "unknown" -> ContainerState.CONTAINER_UNKNOWN;
            default -> throw new CliException("unknown container state %s (created, running, exited, unknown)", s);
        };
    }

    static Map<String, String> labels(List<String> labels) {
        Map<String, String> m = new HashMap<>();
        for (String l : labels) {
            int eq = l.indexOf('=');
            if (eq <= 0) {
                throw new CliException("label %s is not KEY=VALUE", l);
            }
            m.put(l.substring(0, eq), l.substring(eq + 1));
        }
        return m;
    }

    static String image(Container c) {
        String image = c.getImage().getUserSpecifiedImage().isEmpty() ? c.getImage().getImage()
                : c.getImage().getUserSpecifiedImage();
        return image.startsWith("sha256:") ? Units.shortId(image) : image;
    }

    @Command(name = "ps", description = "List containers (running ones unless -a or --state).")
    static final class Ps implements Runnable {
        @Spec CommandSpec spec;
        @Option(names = {"-a", "--all"}, description = "Show all containers.") boolean all;
        @Option(names = {"-q", "--quiet"}, description = "Only container IDs.") boolean quiet;
        @Option(names = {"-p", "--pod"}, paramLabel = "POD", description = "Only containers of this pod.") String pod;
        @Option(names = "--name", description = "Only containers whose name contains this.") String name;
        @Option(names = {"-s", "--state"}, description = "created, running, exited or unknown.") String state;
        @Option(names = "--label", paramLabel = "KEY=VALUE", description = "Only containers with this label.")
        List<String> label = new ArrayList<>();
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json.") Output.Format format;

        @Override
        public void run() {
            try (CriClient client = Berthctl.connect()) {
                ContainerFilter.Builder f = ContainerFilter.newBuilder().putAllLabelSelector(labels(label));
                if (state != null) {
                    f.setState(ContainerStateValue.newBuilder().setState(parseState(state)));
                } else if (!all) {
                    f.setState(ContainerStateValue.newBuilder().setState(ContainerState.CONTAINER_RUNNING));
                }
                if (pod != null) {
                    f.setPodSandboxId(Ids.pod(client, pod));
                }
                List<Container> containers = new ArrayList<>(client.runtime()
                        .listContainers(ListContainersRequest.newBuilder().setFilter(f).build()).getContainersList());
                containers.removeIf(c -> name != null && !c.getMetadata().getName().contains(name));
                containers.sort(Comparator.comparingLong(Container::getCreatedAt).reversed());
                PrintWriter out = Berthctl.out(spec);
                if (format == Output.Format.json) {
                    out.println(Output.json(ListContainersResponse.newBuilder().addAllContainers(containers)));
                    return;
                }
                if (quiet) {
                    containers.forEach(c -> out.println(c.getId()));
                    return;
                }
                Map<String, String> podNames = new HashMap<>();
                for (PodSandbox p : client.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList()) {
                    podNames.put(p.getId(), p.getMetadata().getName());
                }
                out.print(table(containers, podNames, Instant.now()).render());
            }
        }
    }

    static Table table(List<Container> containers, Map<String, String> podNames, Instant now) {
        Table t = new Table("CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD");
        for (Container c : containers) {
            t.row(Units.shortId(c.getId()), image(c), Units.ago(Units.fromNanos(c.getCreatedAt()), now),
                    state(c.getState()), c.getMetadata().getName(), c.getMetadata().getAttempt(),
                    Units.shortId(c.getPodSandboxId()), podNames.getOrDefault(c.getPodSandboxId(), "unknown"));
        }
        return t;
    }

    @Command(name = "inspect", description = "Show a container's (or else a pod's) status and verbose info as JSON.")
    static final class Inspect implements Runnable {
        @Spec CommandSpec spec;
        @Parameters(arity = "1..*", paramLabel = "ID") List<String> ids;

        @Override
        public void run() {
            try (CriClient client = Berthctl.connect()) {
                for (String id : ids) {
                    Optional<String> container = Ids.findContainer(client, id);
                    if (container.isPresent()) {
                        try {
                            ContainerStatusResponse r = client.runtime().containerStatus(ContainerStatusRequest.newBuilder()
                                    .setContainerId(container.get()).setVerbose(true).build());
                            Berthctl.out(spec).println(Output.statusAndInfo(r.getStatus(), r.getInfoMap()));
                            continue;
                        } catch (StatusRuntimeException e) {
                            if (e.getStatus().getCode() != Status.Code.NOT_FOUND) {
                                throw e;
                            }
                        }
                    }
                    PodSandboxStatusResponse r = client.runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder()
                            .setPodSandboxId(Ids.pod(client, id)).setVerbose(true).build());
                    Berthctl.out(spec).println(Output.statusAndInfo(r.getStatus(), r.getInfoMap()));
                }
            }
        }
    }

    @Command(name = "logs", description = "Print a container's log (CRI log format), optionally following it.")
    static final class Logs implements Runnable {
        @Spec CommandSpec spec;
        @Parameters(index = "0", paramLabel = "CONTAINER") String container;
        @Option(names = {"-f", "--follow"}, description = "Keep printing as the container writes, until it exits.")
        boolean follow;
        @Option(names = "--tail", defaultValue = "-1", paramLabel = "N", description = "Only the last N lines.") int tail;
        @Option(names = "--since", paramLabel = "DURATION|RFC3339", description = "Only lines since then (e.g. 10m).")
        String since;
        @Option(names = {"-t", "--timestamps"}, description = "Prefix each line with its timestamp.") boolean timestamps;

        @Override
        public void run() {
            Optional<Instant> from = since == null ? Optional.empty() : Optional.of(parseSince(since, Instant.now()));
            try (CriClient client = Berthctl.connect()) {
                String id = Ids.container(client, container);
                ContainerStatusResponse r = client.runtime().containerStatus(
                        ContainerStatusRequest.newBuilder().setContainerId(id).build());
                String logPath = r.getStatus().getLogPath();
                if (logPath.isEmpty()) {
                    throw new CliException("container %s has no log path", id);
                }
                BooleanSupplier running = () -> client.runtime().containerStatus(
                        ContainerStatusRequest.newBuilder().setContainerId(id).build()).getStatus().getState()
                        != ContainerState.CONTAINER_EXITED;
                print(Path.of(logPath), from, tail, follow, timestamps, running, System.out, System.err);
            }
        }
    }

    /** {@code --since}: a duration back from now, or an RFC 3339 time. */
    static Instant parseSince(String since, Instant now) {
        try {
            return OffsetDateTime.parse(since).toInstant();
        } catch (DateTimeParseException e) {
            return now.minus(Units.parseDuration(since));
        }
    }

    /** Prints a CRI log file; with follow, keeps reading (across rotations) until {@code running} says no. */
    static void print(Path path, Optional<Instant> since, int tail, boolean follow, boolean timestamps,
            BooleanSupplier running, PrintStream out, PrintStream err) {
        try (LogFile file = new LogFile(path)) {
            for (CriLog.Entry e : CriLog.select(file.readLines(), since, tail)) {
                emit(e, timestamps, out, err);
            }
            if (!follow) {
                return;
            }
            CriLog.Joiner joiner = new CriLog.Joiner();
            long lastCheck = System.nanoTime();
            while (true) {
                List<String> lines = file.readLines();
                if (lines.isEmpty() && file.rotated()) {
                    lines = file.readLines();
                    file.reopen();
                }
                if (!lines.isEmpty()) {
                    for (String line : lines) {
                        joiner.accept(line).filter(e -> since.isEmpty() || !e.time().isBefore(since.get()))
                                .ifPresent(e -> emit(e, timestamps, out, err));
                    }
                    continue;
                }
                if (System.nanoTime() - lastCheck > Duration.ofSeconds(1).toNanos()) {
                    lastCheck = System.nanoTime();
                    if (!running.getAsBoolean()) {
                        for (String line : file.readLines()) {
                            joiner.accept(line).ifPresent(e -> emit(e, timestamps, out, err));
                        }
                        return;
                    }
                }
                sleep(Duration.ofMillis(200));
            }
        }
    }

    private static void emit(CriLog.Entry e, boolean timestamps, PrintStream out, PrintStream err) {
        PrintStream s = e.stream().equals("stderr") ? err : out;
        s.println(e.render(timestamps));
        s.flush();
    }

    static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted");
        }
    }

    @Command(name = "stop", description = "Stop running containers.")
    static final class Stop implements Runnable {
        @Spec CommandSpec spec;
        @Parameters(arity = "1..*", paramLabel = "CONTAINER") List<String> containers;
        @Option(names = {"-t", "--time"}, defaultValue = "10", paramLabel = "SECONDS",
                description = "Seconds to wait before killing (default ${DEFAULT-VALUE}).") long seconds;

        @Override
        public void run() {
            try (CriClient client = Berthctl.connect(Duration.ofSeconds(30 + seconds))) {
                for (String c : containers) {
                    String id = Ids.container(client, c);
                    client.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(seconds).build());
                    Berthctl.out(spec).println(id);
                }
            }
        }
    }

    @Command(name = "rm", description = "Remove containers.")
    static final class Rm implements Runnable {
        @Spec CommandSpec spec;
        @Parameters(arity = "1..*", paramLabel = "CONTAINER") List<String> containers;
        @Option(names = {"-f", "--force"}, description = "Stop running containers first.") boolean force;

        @Override
        public void run() {
            try (CriClient client = Berthctl.connect()) {
                for (String c : containers) {
                    String id = Ids.container(client, c);
                    if (force) {
                        client.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(id).build());
                    }
                    client.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
                    Berthctl.out(spec).println(id);
                }
            }
        }
    }

    @Command(name = "exec", description = "Run a command in a running container (-it for an interactive terminal).")
    static final class Exec implements java.util.concurrent.Callable<Integer> {
        @Spec CommandSpec spec;
        @Option(names = {"-i", "--interactive"}, description = "Keep stdin open.") boolean interactive;
        @Option(names = {"-t", "--tty"}, description = "Allocate a terminal.") boolean tty;
        @Option(names = "--sync-timeout", paramLabel = "SECONDS", defaultValue = "0",
                description = "Kill the command after this many seconds (non-interactive; 0: no limit).") long syncTimeout;
        @Parameters(index = "0", paramLabel = "CONTAINER") String container;
        @Parameters(index = "1..*", arity = "1..*", paramLabel = "CMD") List<String> cmd;

        @Override
        public Integer call() {
            try (CriClient client = Berthctl.connect()) {
                String id = Ids.container(client, container);
                if (!interactive && !tty) {
                    ExecSyncResponse r = client.runtimeStreaming().execSync(ExecSyncRequest.newBuilder()
                            .setContainerId(id).addAllCmd(cmd).setTimeout(syncTimeout).build());
                    r.getStdout().writeTo(System.out);
                    r.getStderr().writeTo(System.err);
                    System.out.flush();
                    System.err.flush();
                    return r.getExitCode();
                }
                String url = client.runtime().exec(ExecRequest.newBuilder().setContainerId(id).addAllCmd(cmd)
                        .setTty(tty).setStdin(interactive).setStdout(true).setStderr(!tty).build()).getUrl();
                return RemoteCommand.run(url, interactive, tty);
            } catch (java.io.IOException e) {
                throw new CliException(e, "%s", e.getMessage());
            }
        }
    }

    @Command(name = "attach", description = "Attach to a running container's stdio.")
    static final class Attach implements java.util.concurrent.Callable<Integer> {
        @Spec CommandSpec spec;
        @Option(names = {"-i", "--interactive"}, description = "Send stdin.") boolean interactive;
        @Option(names = {"-t", "--tty"}, description = "The container has a terminal.") boolean tty;
        @Parameters(index = "0", paramLabel = "CONTAINER") String container;

        @Override
        public Integer call() {
            try (CriClient client = Berthctl.connect()) {
                String id = Ids.container(client, container);
                String url = client.runtime().attach(AttachRequest.newBuilder().setContainerId(id)
                        .setStdin(interactive).setTty(tty).setStdout(true).setStderr(!tty).build()).getUrl();
                return RemoteCommand.run(url, interactive, tty);
            } catch (java.io.IOException e) {
                throw new CliException(e, "%s", e.getMessage());
            }
        }
    }

    @Command(name = "stats", description = "Show containers' resource usage (-w to refresh every 2s).")
    static final class Stats implements Runnable {
        @Spec CommandSpec spec;
        @Parameters(arity = "0..1", paramLabel = "CONTAINER") String container;
        @Option(names = {"-p", "--pod"}, paramLabel = "POD", description = "Only containers of this pod.") String pod;
        @Option(names = "--label", paramLabel = "KEY=VALUE") List<String> label = new ArrayList<>();
        @Option(names = {"-w", "--watch"}, description = "Refresh every 2 seconds.") boolean watch;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json.") Output.Format format;

        @Override
        public void run() {
            try (CriClient client = Berthctl.connect()) {
                var filter = io.berth.cri.api.ContainerStatsFilter.newBuilder().putAllLabelSelector(labels(label));
                if (container != null) {
                    filter.setId(Ids.container(client, container));
                }
                if (pod != null) {
                    filter.setPodSandboxId(Ids.pod(client, pod));
                }
                ListContainerStatsRequest req = ListContainerStatsRequest.newBuilder().setFilter(filter).build();
                PrintWriter out = Berthctl.out(spec);
                ListContainerStatsResponse previous = client.runtime().listContainerStats(req);
                if (format == Output.Format.json) {
                    out.println(Output.json(previous));
                    return;
                }
                ListContainerStatsResponse current = previous;
                if (previous.getStatsList().stream().anyMatch(s -> !s.getCpu().hasUsageNanoCores())) {
                    sleep(Duration.ofSeconds(1));
                    current = client.runtime().listContainerStats(req);
                }
                while (true) {
                    if (watch) {
                        out.print("\033[H\033[2J");
                    }
                    out.print(statsTable(previous.getStatsList(), current.getStatsList()).render());
                    out.flush();
                    if (!watch) {
                        return;
                    }
                    sleep(Duration.ofSeconds(2));
                    previous = current;
                    current = client.runtime().listContainerStats(req);
                }
            }
        }
    }

    static Table statsTable(List<ContainerStats> previous, List<ContainerStats> current) {
        Map<String, ContainerStats> before = new HashMap<>();
        previous.forEach(s -> before.put(s.getAttributes().getId(), s));
        Table t = new Table("CONTAINER", "NAME", "CPU %", "MEM", "DISK", "INODES");
        List<ContainerStats> sorted = new ArrayList<>(current);
        sorted.sort(Comparator.comparing(s -> s.getAttributes().getMetadata().getName()));
        for (ContainerStats s : sorted) {
            t.row(Units.shortId(s.getAttributes().getId()), s.getAttributes().getMetadata().getName(),
                    String.format(java.util.Locale.ROOT, "%.2f", cpuPercent(before.get(s.getAttributes().getId()), s)),
                    Units.size(s.getMemory().getWorkingSetBytes().getValue()),
                    Units.size(s.getWritableLayer().getUsedBytes().getValue()),
                    s.getWritableLayer().getInodesUsed().getValue());
        }
        return t;
    }

    /** CPU use in percent of one core: from usage_nano_cores when given, else from two cumulative samples. */
    static double cpuPercent(ContainerStats before, ContainerStats now) {
        if (now.getCpu().hasUsageNanoCores()) {
            return now.getCpu().getUsageNanoCores().getValue() / 1e7;
        }
        if (before == null || !before.getCpu().hasUsageCoreNanoSeconds()) {
            return 0;
        }
        long dt = now.getCpu().getTimestamp() - before.getCpu().getTimestamp();
        long used = now.getCpu().getUsageCoreNanoSeconds().getValue() - before.getCpu().getUsageCoreNanoSeconds().getValue();
        return dt <= 0 || used < 0 ? 0 : used * 100.0 / dt;
    }

    @Command(name = "events", description = "Print container lifecycle events as they happen, one line each.")
    static final class Events implements Runnable {
        @Spec CommandSpec spec;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table (one line per event) or json.")
        Output.Format format;

        @Override
        public void run() {
            try (CriClient client = Berthctl.connect()) {
                Iterator<ContainerEventResponse> it = client.runtimeStreaming().getContainerEvents(GetEventsRequest.getDefaultInstance());
                PrintWriter out = Berthctl.out(spec);
                while (it.hasNext()) {
                    ContainerEventResponse e = it.next();
                    out.println(format == Output.Format.json ? Output.tree(e).toString() : eventLine(e));
                    out.flush();
                }
            }
        }
    }

    static String eventLine(ContainerEventResponse e) {
        String type = e.getContainerEventType().name().replace("CONTAINER_", "").replace("_EVENT", "").toLowerCase();
        StringBuilder s = new StringBuilder().append(Units.fromNanos(e.getCreatedAt())).append(' ')
                .append(type).append(" container=").append(e.getContainerId());
        e.getContainersStatusesList().stream().filter(c -> c.getId().equals(e.getContainerId())).findFirst()
                .ifPresent(c -> s.append(" name=").append(c.getMetadata().getName()));
        if (e.hasPodSandboxStatus()) {
            var p = e.getPodSandboxStatus();
            s.append(" pod=").append(p.getMetadata().getNamespace()).append('/').append(p.getMetadata().getName())
                    .append(" pod_id=").append(Units.shortId(p.getId()));
        }
        return s.toString();
    }
}
