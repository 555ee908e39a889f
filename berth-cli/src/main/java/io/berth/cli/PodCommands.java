package io.berth.cli;

import io.berth.cri.api.ListMetricDescriptorsRequest;
import io.berth.cri.api.ListPodSandboxMetricsRequest;
import io.berth.cri.api.ListPodSandboxMetricsResponse;
import io.berth.cri.api.ListPodSandboxRequest;
import io.berth.cri.api.ListPodSandboxResponse;
import io.berth.cri.api.Metric;
import io.berth.cri.api.MetricDescriptor;
import io.berth.cri.api.MetricType;
import io.berth.cri.api.PodSandbox;
import io.berth.cri.api.PodSandboxFilter;
import io.berth.cri.api.PodSandboxMetrics;
import io.berth.cri.api.PodSandboxState;
import io.berth.cri.api.PodSandboxStateValue;
import io.berth.cri.api.PodSandboxStatusRequest;
import io.berth.cri.api.PodSandboxStatusResponse;
import io.berth.cri.api.RemovePodSandboxRequest;
import io.berth.cri.api.StopPodSandboxRequest;
import io.berth.cri.api.ext.Phase;
import io.berth.cri.api.ext.StartupTimingsRequest;
import io.berth.cri.api.ext.StartupTimingsResponse;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** Commands about pod sandboxes. */
final class PodCommands {

    private PodCommands() {
    }

    static String state(PodSandboxState s) {
        return s == PodSandboxState.SANDBOX_READY ? "Ready" : "NotReady";
    }

    @Command(name = "pods", description = "List pod sandboxes.")
    static final class Pods implements Runnable {
        @Spec CommandSpec spec;
        @Option(names = "--name", description = "Only pods whose name contains this.") String name;
        @Option(names = {"-n", "--namespace"}, description = "Only pods in this namespace.") String namespace;
        @Option(names = {"-s", "--state"}, description = "ready or notready.") String state;
        @Option(names = "--label", paramLabel = "KEY=VALUE", description = "Only pods with this label.")
        List<String> label = new ArrayList<>();
        @Option(names = {"-q", "--quiet"}, description = "Only pod IDs.") boolean quiet;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json.") Output.Format format;

        @Override
        public void run() {
            try (CriClient client = Berthctl.connect()) {
                PodSandboxFilter.Builder f = PodSandboxFilter.newBuilder().putAllLabelSelector(ContainerCommands.labels(label));
                if (state != null) {
                    f.setState(PodSandboxStateValue.newBuilder().setState(switch (state.toLowerCase(Locale.ROOT)) {
                        case "ready" -> PodSandboxState.SANDBOX_READY;
                        case "notready" -> PodSandboxState.SANDBOX_NOTREADY;
                        default -> throw new CliException("unknown pod state %s (ready, notready)", state);
                    }));
                }
                List<PodSandbox> pods = new ArrayList<>(client.runtime()
                        .listPodSandbox(ListPodSandboxRequest.newBuilder().setFilter(f).build()).getItemsList());
                pods.removeIf(p -> name != null && !p.getMetadata().getName().contains(name)
                        || namespace != null && !p.getMetadata().getNamespace().equals(namespace));
                pods.sort(Comparator.comparingLong(PodSandbox::getCreatedAt).reversed());
                PrintWriter out = Berthctl.out(spec);
                if (format == Output.Format.json) {
                    out.println(Output.json(ListPodSandboxResponse.newBuilder().addAllItems(pods)));
                } else if (quiet) {
                    pods.forEach(p -> out.println(p.getId()));
                } else {
                    out.print(table(pods, Instant.now()).render());
                }
            }
        }
    }

    static Table table(List<PodSandbox> pods, Instant now) {
        Table t = new Table("POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME");
        for (PodSandbox p : pods) {
            t.row(Units.shortId(p.getId()), Units.ago(Units.fromNanos(p.getCreatedAt()), now), state(p.getState()),
                    p.getMetadata().getName(), p.getMetadata().getNamespace(), p.getMetadata().getAttempt(),
                    p.getRuntimeHandler().isEmpty() ? "(default)" : p.getRuntimeHandler());
        }
        return t;
    }

    @Command(name = "inspectp", description = "Show a pod's status and verbose info as JSON.")
    static final class Inspectp implements Runnable {
        @Spec CommandSpec spec;
        @Parameters(arity = "1..*", paramLabel = "POD") List<String> pods;

        @Override
        public void run() {
            try (CriClient client = Berthctl.connect()) {
                for (String pod : pods) {
                    PodSandboxStatusResponse r = client.runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder()
                            .setPodSandboxId(Ids.pod(client, pod)).setVerbose(true).build());
                    Berthctl.out(spec).println(Output.statusAndInfo(r.getStatus(), r.getInfoMap()));
                }
            }
        }
    }

    @Command(name = "stopp", description = "Stop pod sandboxes and their containers.")
    static final class Stopp implements Runnable {
        @Spec CommandSpec spec;
        @Parameters(arity = "1..*", paramLabel = "POD") List<String> pods;

        @Override
        public void run() {
            try (CriClient client = Berthctl.connect(java.time.Duration.ofMinutes(1))) {
                for (String pod : pods) {
                    String id = Ids.pod(client, pod);
                    client.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(id).build());
                    Berthctl.out(spec).println("Stopped sandbox " + id);
                }
            }
        }
    }

    @Command(name = "rmp", description = "Remove pod sandboxes.")
    static final class Rmp implements Runnable {
        @Spec CommandSpec spec;
        @Parameters(arity = "1..*", paramLabel = "POD") List<String> pods;
        @Option(names = {"-f", "--force"}, description = "Stop ready pods first.") boolean force;

        @Override
        public void run() {
            try (CriClient client = Berthctl.connect(java.time.Duration.ofMinutes(1))) {
                for (String pod : pods) {
                    String id = Ids.pod(client, pod);
                    if (force) {
                        client.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(id).build());
                    }
                    client.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(id).build());
                    Berthctl.out(spec).println("Removed sandbox " + id);
                }
            }
        }
    }

    @Command(name = "port-forward", description = "Forward local ports to a pod: LOCAL:REMOTE (or PORT for both).")
    static final class PortForward implements Runnable {
        @Spec CommandSpec spec;
        @Parameters(index = "0", paramLabel = "POD") String pod;
        @Parameters(index = "1..*", arity = "1..*", paramLabel = "LOCAL:REMOTE") List<String> ports;
        @Option(names = "--address", defaultValue = "127.0.0.1", description = "Local address to listen on (default ${DEFAULT-VALUE}).")
        String address;

        @Override
        public void run() {
            List<int[]> pairs = ports.stream().map(PortForward::parsePorts).toList();
            try (CriClient client = Berthctl.connect()) {
                String id = Ids.pod(client, pod);
                new PortForwarder(client, id, address, Berthctl.out(spec), spec.commandLine().getErr()).serve(pairs);
            }
        }

        static int[] parsePorts(String s) {
            String[] parts = s.split(":", 2);
            try {
                int local = parts[0].isEmpty() ? 0 : Integer.parseInt(parts[0]);
                int remote = Integer.parseInt(parts.length == 2 ? parts[1] : parts[0]);
                if (local < 0 || local > 65535 || remote < 1 || remote > 65535) {
                    throw new NumberFormatException();
                }
                return new int[] {local, remote};
            } catch (NumberFormatException e) {
                throw new CliException("invalid port mapping %s: use LOCAL:REMOTE or PORT", s);
            }
        }
    }

    @Command(name = "startup", description = "Show where a pod's start-up time went, phase by phase (Berth only).")
    static final class Startup implements Runnable {
        @Spec CommandSpec spec;
        @Parameters(index = "0", paramLabel = "POD") String pod;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json.") Output.Format format;

        @Override
        public void run() {
            try (CriClient client = Berthctl.connect()) {
                StartupTimingsResponse r = client.berthPods().startupTimings(
                        StartupTimingsRequest.newBuilder().setPodSandboxId(Ids.pod(client, pod)).build());
                Berthctl.out(spec).print(format == Output.Format.json ? Output.json(r) + "\n" : timingsTable(r).render());
            }
        }
    }

    @Command(name = "metrics", description = "Print pods' cAdvisor metrics (CRI ListPodSandboxMetrics) in the "
            + "Prometheus text format, as the kubelet's /metrics/cadvisor serves them.")
    static final class Metrics implements Runnable {
        @Spec CommandSpec spec;
        @Parameters(arity = "0..1", paramLabel = "POD", description = "Only this pod (default: every ready pod).")
        String pod;
        @Option(names = "--name", paramLabel = "TEXT", description = "Only metrics whose name contains this.")
        String name;
        @Option(names = {"-o", "--output"}, defaultValue = "table",
                description = "table (Prometheus text) or json.") Output.Format format;

        @Override
        public void run() {
            try (CriClient client = Berthctl.connect()) {
                String id = pod == null ? null : Ids.pod(client, pod);
                List<MetricDescriptor> descriptors = client.runtime()
                        .listMetricDescriptors(ListMetricDescriptorsRequest.getDefaultInstance()).getDescriptorsList();
                List<PodSandboxMetrics> pods = client.runtime()
                        .listPodSandboxMetrics(ListPodSandboxMetricsRequest.getDefaultInstance()).getPodMetricsList()
                        .stream().filter(p -> id == null || p.getPodSandboxId().equals(id)).toList();
                PrintWriter out = Berthctl.out(spec);
                if (format == Output.Format.json) {
                    out.println(Output.json(ListPodSandboxMetricsResponse.newBuilder().addAllPodMetrics(pods).build()));
                } else {
                    out.print(prometheusText(descriptors, pods, name == null ? "" : name));
                }
            }
        }
    }

    /**
     * The Prometheus text exposition (https://prometheus.io/docs/instrumenting/exposition_formats/) of the pods'
     * metrics, grouped by descriptor; metrics without a descriptor are dropped, as the kubelet drops them.
     */
    static String prometheusText(List<MetricDescriptor> descriptors, List<PodSandboxMetrics> pods, String nameFilter) {
        java.util.Map<String, List<Metric>> byName = new java.util.LinkedHashMap<>();
        descriptors.forEach(d -> byName.put(d.getName(), new ArrayList<>()));
        for (PodSandboxMetrics p : pods) {
            p.getMetricsList().forEach(m -> add(byName, m));
            p.getContainerMetricsList().forEach(c -> c.getMetricsList().forEach(m -> add(byName, m)));
        }
        StringBuilder sb = new StringBuilder();
        for (MetricDescriptor d : descriptors) {
            List<Metric> ms = byName.get(d.getName());
            if (ms.isEmpty() || !d.getName().contains(nameFilter)) {
                continue;
            }
            sb.append("# HELP ").append(d.getName()).append(' ')
                    .append(d.getHelp().replace("\\", "\\\\").replace("\n", "\\n")).append('\n');
            sb.append("# TYPE ").append(d.getName()).append(' ')
                    .append(ms.getFirst().getMetricType() == MetricType.COUNTER ? "counter" : "gauge").append('\n');
            for (Metric m : ms) {
                sb.append(d.getName()).append('{');
                for (int i = 0; i < Math.min(d.getLabelKeysCount(), m.getLabelValuesCount()); i++) {
                    sb.append(i > 0 ? "," : "").append(d.getLabelKeys(i)).append("=\"")
                            .append(m.getLabelValues(i).replace("\\", "\\\\").replace("\"", "\\\"")
                                    .replace("\n", "\\n"))
                            .append('"');
                }
                sb.append("} ").append(Long.toUnsignedString(m.getValue().getValue()));
                if (m.getTimestamp() != 0) {
                    sb.append(' ').append(m.getTimestamp() / 1_000_000L);
                }
                sb.append('\n');
            }
        }
        return sb.toString();
    }

    private static void add(java.util.Map<String, List<Metric>> byName, Metric m) {
        List<Metric> l = byName.get(m.getName());
        if (l != null) {
            l.add(m);
        }
    }

    static final int TIMING_BAR = 40;

    /** One row per phase: its milliseconds and a bar scaled to the total. */
    static Table timingsTable(StartupTimingsResponse r) {
        long total = r.getTotalNanos() > 0 ? r.getTotalNanos()
                : r.getPhasesList().stream().mapToLong(Phase::getNanos).sum();
        Table t = new Table("PHASE", "CONTAINER", "MS", "");
        for (Phase p : r.getPhasesList()) {
            int cells = total <= 0 ? 0 : (int) Math.round((double) p.getNanos() * TIMING_BAR / total);
            if (cells == 0 && p.getNanos() > 0) {
                cells = 1;
            }
            t.row(p.getName(), p.getContainerId().isEmpty() ? "" : Units.shortId(p.getContainerId()),
                    ms(p.getNanos()), "#".repeat(Math.min(cells, TIMING_BAR)));
        }
        t.row("total", "", ms(total), "");
        return t;
    }

    static String ms(long nanos) {
        return String.format(Locale.ROOT, "%.1f", nanos / 1e6);
    }
}
