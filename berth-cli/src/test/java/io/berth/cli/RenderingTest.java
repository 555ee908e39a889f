package io.berth.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.cri.api.Container;
import io.berth.cri.api.ContainerAttributes;
import io.berth.cri.api.ContainerEventResponse;
import io.berth.cri.api.ContainerEventType;
import io.berth.cri.api.ContainerMetadata;
import io.berth.cri.api.ContainerState;
import io.berth.cri.api.ContainerStats;
import io.berth.cri.api.CpuUsage;
import io.berth.cri.api.FilesystemUsage;
import io.berth.cri.api.Image;
import io.berth.cri.api.ImageSpec;
import io.berth.cri.api.MemoryUsage;
import io.berth.cri.api.PodSandbox;
import io.berth.cri.api.PodSandboxMetadata;
import io.berth.cri.api.PodSandboxState;
import io.berth.cri.api.PodSandboxStatus;
import io.berth.cri.api.UInt64Value;
import io.berth.cri.api.ext.LayerProgress;
import io.berth.cri.api.ext.Phase;
import io.berth.cri.api.ext.PullProgress;
import io.berth.cri.api.ext.StartupTimingsResponse;
import io.grpc.Status;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RenderingTest {

    private static final Instant NOW = Instant.parse("2026-01-01T12:00:00Z");
    private static final String ID = "3f1c2e4d5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d";

    private static long nanos(Instant i) {
        return i.getEpochSecond() * 1_000_000_000L + i.getNano();
    }

    @Test
    void imagesTable_oneRowPerTag_untaggedShowsNone() {
        Image tagged = Image.newBuilder().setId("sha256:" + ID).addRepoTags("docker.io/library/busybox:1.36")
                .addRepoTags("localhost:5000/tools/busybox:latest")
                .addRepoDigests("docker.io/library/busybox@sha256:" + ID).setSize(2_154_321).build();
        Image untagged = Image.newBuilder().setId("sha256:abcdef0123456789abcdef")
                .addRepoDigests("registry.k8s.io/pause@sha256:99887766554433221100").setSize(320_000).build();
        String out = ImageCommands.table(List.of(tagged, untagged), false).render();
        assertThat(out.lines().toList()).containsExactly(
                "IMAGE                          TAG      IMAGE ID        SIZE",
                "docker.io/library/busybox      1.36     3f1c2e4d5a6b7   2.15MB",
                "localhost:5000/tools/busybox   latest   3f1c2e4d5a6b7   2.15MB",
                "registry.k8s.io/pause          <none>   abcdef0123456   320kB");
    }

    @Test
    void imagesTable_digests_addsShortDigestColumn() {
        Image i = Image.newBuilder().setId("sha256:" + ID).addRepoTags("busybox:1")
                .addRepoDigests("busybox@sha256:99887766554433221100").setSize(1).build();
        assertThat(ImageCommands.table(List.of(i), true).render().lines().toList()).containsExactly(
                "IMAGE     TAG   DIGEST          IMAGE ID        SIZE",
                "busybox   1     9988776655443   3f1c2e4d5a6b7   1B");
    }

    @Test
    void splitTag_respectsRegistryPort() {
        assertThat(ImageCommands.splitTag("localhost:5000/a/b:v1")).containsExactly("localhost:5000/a/b", "v1");
        assertThat(ImageCommands.splitTag("localhost:5000/a/b")).containsExactly("localhost:5000/a/b", "<none>");
    }

    @Test
    void auth_credsAndBase64() {
        assertThat(ImageCommands.auth("u:p:w", null).orElseThrow().getPassword()).isEqualTo("p:w");
        assertThat(ImageCommands.auth(null, "dTpw").orElseThrow().getAuth()).isEqualTo("dTpw");
        assertThat(ImageCommands.auth(null, null)).isEmpty();
        assertThatThrownBy(() -> ImageCommands.auth("nocolon", null)).isInstanceOf(CliException.class);
        assertThatThrownBy(() -> ImageCommands.auth(null, "***")).isInstanceOf(CliException.class);
    }

    @Test
    void psTable_showsStateRelativeTimeAndPodName() {
        Container c = Container.newBuilder().setId(ID).setPodSandboxId("b" + ID.substring(1))
                .setMetadata(ContainerMetadata.newBuilder().setName("web").setAttempt(2))
                .setImage(ImageSpec.newBuilder().setImage("sha256:" + ID).setUserSpecifiedImage("nginx:1.27"))
                .setState(ContainerState.CONTAINER_RUNNING).setCreatedAt(nanos(NOW.minusSeconds(150))).build();
        String out = ContainerCommands.table(List.of(c), Map.of("b" + ID.substring(1), "frontend"), NOW).render();
        assertThat(out.lines().toList()).containsExactly(
                "CONTAINER       IMAGE        CREATED         STATE     NAME   ATTEMPT   POD ID          POD",
                "3f1c2e4d5a6b7   nginx:1.27   2 minutes ago   Running   web    2         bf1c2e4d5a6b7   frontend");
    }

    @Test
    void psImage_digestOnly_isShortened() {
        Container c = Container.newBuilder().setImage(ImageSpec.newBuilder().setImage("sha256:" + ID)).build();
        assertThat(ContainerCommands.image(c)).isEqualTo("3f1c2e4d5a6b7");
    }

    @Test
    void podsTable_showsReadyAndDefaultRuntime() {
        PodSandbox p = PodSandbox.newBuilder().setId(ID).setState(PodSandboxState.SANDBOX_NOTREADY)
                .setMetadata(PodSandboxMetadata.newBuilder().setName("nginx").setNamespace("default").setAttempt(1))
                .setCreatedAt(nanos(NOW.minusSeconds(3 * 3600))).build();
        assertThat(PodCommands.table(List.of(p), NOW).render().lines().toList()).containsExactly(
                "POD ID          CREATED       STATE      NAME    NAMESPACE   ATTEMPT   RUNTIME",
                "3f1c2e4d5a6b7   3 hours ago   NotReady   nginx   default     1         (default)");
    }

    @Test
    void containerStates_andParse() {
        assertThat(ContainerCommands.state(ContainerState.CONTAINER_EXITED)).isEqualTo("Exited");
        assertThat(ContainerCommands.parseState("Running")).isEqualTo(ContainerState.CONTAINER_RUNNING);
        assertThatThrownBy(() -> ContainerCommands.parseState("sleeping")).isInstanceOf(CliException.class);
        assertThat(ContainerCommands.labels(List.of("a=b", "c=d=e"))).containsEntry("a", "b").containsEntry("c", "d=e");
        assertThatThrownBy(() -> ContainerCommands.labels(List.of("novalue"))).isInstanceOf(CliException.class);
    }

    private static ContainerStats stats(String id, long ts, long cpuNanos, Long nanoCores) {
        CpuUsage.Builder cpu = CpuUsage.newBuilder().setTimestamp(ts)
                .setUsageCoreNanoSeconds(UInt64Value.newBuilder().setValue(cpuNanos));
        if (nanoCores != null) {
            cpu.setUsageNanoCores(UInt64Value.newBuilder().setValue(nanoCores));
        }
        return ContainerStats.newBuilder()
                .setAttributes(ContainerAttributes.newBuilder().setId(id).setMetadata(ContainerMetadata.newBuilder().setName("app")))
                .setCpu(cpu)
                .setMemory(MemoryUsage.newBuilder().setWorkingSetBytes(UInt64Value.newBuilder().setValue(52_400_000)))
                .setWritableLayer(FilesystemUsage.newBuilder().setUsedBytes(UInt64Value.newBuilder().setValue(4096))
                        .setInodesUsed(UInt64Value.newBuilder().setValue(7)))
                .build();
    }

    @Test
    void cpuPercent_fromNanoCoresOrFromTwoSamples() {
        assertThat(ContainerCommands.cpuPercent(null, stats(ID, 0, 0, 250_000_000L))).isEqualTo(25.0);
        ContainerStats before = stats(ID, 1_000_000_000L, 5_000_000_000L, null);
        ContainerStats after = stats(ID, 3_000_000_000L, 6_000_000_000L, null);
        assertThat(ContainerCommands.cpuPercent(before, after)).isEqualTo(50.0);
        assertThat(ContainerCommands.cpuPercent(null, after)).isZero();
    }

    @Test
    void statsTable_columns() {
        ContainerStats s = stats(ID, 0, 0, 1_500_000_000L);
        assertThat(ContainerCommands.statsTable(List.of(), List.of(s)).render().lines().toList()).containsExactly(
                "CONTAINER       NAME   CPU %    MEM      DISK    INODES",
                "3f1c2e4d5a6b7   app    150.00   52.4MB   4.1kB   7");
    }

    @Test
    void eventLine_namesTypeContainerAndPod() {
        ContainerEventResponse e = ContainerEventResponse.newBuilder().setContainerId(ID)
                .setContainerEventType(ContainerEventType.CONTAINER_STARTED_EVENT)
                .setCreatedAt(nanos(Instant.parse("2026-01-01T10:00:00.5Z")))
                .setPodSandboxStatus(PodSandboxStatus.newBuilder().setId(ID)
                        .setMetadata(PodSandboxMetadata.newBuilder().setName("web").setNamespace("prod")))
                .build();
        assertThat(ContainerCommands.eventLine(e))
                .isEqualTo("2026-01-01T10:00:00.500Z started container=" + ID + " pod=prod/web pod_id=3f1c2e4d5a6b7");
    }

    @Test
    void parseSince_durationOrTime() {
        assertThat(ContainerCommands.parseSince("10m", NOW)).isEqualTo(NOW.minusSeconds(600));
        assertThat(ContainerCommands.parseSince("2026-01-01T11:00:00Z", NOW)).isEqualTo(Instant.parse("2026-01-01T11:00:00Z"));
        assertThatThrownBy(() -> ContainerCommands.parseSince("yesterday", NOW)).isInstanceOf(CliException.class);
    }

    @Test
    void timingsTable_barsScaleToTotal() {
        StartupTimingsResponse r = StartupTimingsResponse.newBuilder()
                .addPhases(Phase.newBuilder().setName("netns").setNanos(10_000_000))
                .addPhases(Phase.newBuilder().setName("container_start").setNanos(30_000_000).setContainerId(ID))
                .setTotalNanos(40_000_000).build();
        assertThat(PodCommands.timingsTable(r).render().lines().toList()).containsExactly(
                "PHASE             CONTAINER       MS",
                "netns                             10.0   ##########",
                "container_start   3f1c2e4d5a6b7   30.0   ##############################",
                "total                             40.0");
    }

    @Test
    void parsePorts_localRemoteOrSingle() {
        assertThat(PodCommands.PortForward.parsePorts("8080:80")).containsExactly(8080, 80);
        assertThat(PodCommands.PortForward.parsePorts("5432")).containsExactly(5432, 5432);
        assertThat(PodCommands.PortForward.parsePorts(":80")).containsExactly(0, 80);
        assertThatThrownBy(() -> PodCommands.PortForward.parsePorts("a:b")).isInstanceOf(CliException.class);
        assertThatThrownBy(() -> PodCommands.PortForward.parsePorts("1:70000")).isInstanceOf(CliException.class);
    }

    @Test
    void progress_barAndLayerLines() {
        assertThat(PullProgressView.bar(0, 100)).isEqualTo("[" + " ".repeat(30) + "]");
        assertThat(PullProgressView.bar(50, 100)).isEqualTo("[" + "=".repeat(14) + ">" + " ".repeat(15) + "]");
        assertThat(PullProgressView.bar(100, 100)).isEqualTo("[" + "=".repeat(30) + "]");
        PullProgress p = PullProgress.newBuilder()
                .addLayers(LayerProgress.newBuilder().setDigest("sha256:" + ID).setTotal(2_000_000).setDone(1_000_000)
                        .setState("downloading"))
                .addLayers(LayerProgress.newBuilder().setDigest("sha256:" + ID).setState("cached"))
                .setTotalBytes(2_000_000).setDoneBytes(1_000_000).build();
        List<String> lines = PullProgressView.lines(p);
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).startsWith("3f1c2e4d5a6b  downloading [").endsWith("] 1MB/2MB");
        assertThat(lines.get(1)).isEqualTo("3f1c2e4d5a6b  exists");
        assertThat(lines.get(2)).startsWith("total").endsWith("1MB/2MB");
    }

    @Test
    void exitCode_fromStatusOnErrorChannel() {
        PrintStream err = new PrintStream(new ByteArrayOutputStream());
        assertThat(RemoteCommand.exitCode("", err)).isZero();
        assertThat(RemoteCommand.exitCode("{\"metadata\":{},\"status\":\"Success\"}", err)).isZero();
        assertThat(RemoteCommand.exitCode("""
                {"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: 3",
                 "reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}""", err))
                .isEqualTo(3);
    }

    @Test
    void exitCode_otherFailureOrPlainText_printsAndGivesOne() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        assertThat(RemoteCommand.exitCode("{\"status\":\"Failure\",\"message\":\"no such container\"}", err)).isEqualTo(1);
        assertThat(RemoteCommand.exitCode("executable file not found", err)).isEqualTo(1);
        assertThat(bytes.toString(StandardCharsets.UTF_8))
                .isEqualTo("berthctl: no such container\nberthctl: executable file not found\n");
    }

    @Test
    void resizeMessage_usesKubernetesFieldNames() {
        assertThat(RemoteCommand.resizeMessage(120, 40)).isEqualTo("{\"Width\":120,\"Height\":40}");
    }

    @Test
    void describe_grpcStatus_isCodeAndDescription() {
        assertThat(Berthctl.describe(Status.NOT_FOUND.withDescription("container x").asRuntimeException()))
                .isEqualTo("NOT_FOUND: container x");
        assertThat(Berthctl.describe(new RuntimeException("wrapped", Status.UNIMPLEMENTED.asRuntimeException())))
                .isEqualTo("UNIMPLEMENTED: ");
        assertThat(Berthctl.describe(new CliException("bad %s", "input"))).isEqualTo("bad input");
    }

    @Test
    void infoMap_embedsJsonValuesAndKeepsStrings() {
        var o = Output.info(Map.of("config", "{\"a\":1}", "note", "plain text", "n", "null"));
        assertThat(o.toString()).isEqualTo("{\"config\":{\"a\":1},\"n\":\"null\",\"note\":\"plain text\"}");
    }

    @Test
    void ids_unique_prefersPrefixThenName() {
        assertThat(Ids.unique("ab", List.of("abc"), List.of("zzz"))).contains("abc");
        assertThat(Ids.unique("web", List.of(), List.of("123"))).contains("123");
        assertThat(Ids.unique("x", List.of(), List.of())).isEmpty();
        assertThatThrownBy(() -> Ids.unique("a", List.of("ab", "ac"), List.of())).isInstanceOf(CliException.class)
                .hasMessageContaining("ambiguous");
    }

    @Test
    void prometheusText_podAndContainerMetrics_helpTypeAndSamplesPerDescriptor() {
        List<io.berth.cri.api.MetricDescriptor> descriptors = List.of(
                io.berth.cri.api.MetricDescriptor.newBuilder().setName("container_memory_usage_bytes")
                        .setHelp("Current memory usage in bytes").addAllLabelKeys(List.of("pod", "container")).build(),
                io.berth.cri.api.MetricDescriptor.newBuilder().setName("container_network_receive_bytes_total")
                        .setHelp("Cumulative count of bytes received")
                        .addAllLabelKeys(List.of("pod", "container", "interface")).build(),
                io.berth.cri.api.MetricDescriptor.newBuilder().setName("container_threads").setHelp("unused").build());
        io.berth.cri.api.PodSandboxMetrics pod = io.berth.cri.api.PodSandboxMetrics.newBuilder().setPodSandboxId("p")
                .addMetrics(metric("container_network_receive_bytes_total", io.berth.cri.api.MetricType.COUNTER,
                        1234, 1_700_000_000_123_456_789L, "web", "", "eth0"))
                .addContainerMetrics(io.berth.cri.api.ContainerMetrics.newBuilder().setContainerId("c")
                        .addMetrics(metric("container_memory_usage_bytes", io.berth.cri.api.MetricType.GAUGE,
                                4096, 0, "web", "say \"hi\""))
                        .addMetrics(metric("undescribed", io.berth.cri.api.MetricType.GAUGE, 1, 0, "web", "x")))
                .build();
        assertThat(PodCommands.prometheusText(descriptors, List.of(pod), "")).isEqualTo("""
                # HELP container_memory_usage_bytes Current memory usage in bytes
                # TYPE container_memory_usage_bytes gauge
                container_memory_usage_bytes{pod="web",container="say \\"hi\\""} 4096
                # HELP container_network_receive_bytes_total Cumulative count of bytes received
                # TYPE container_network_receive_bytes_total counter
                container_network_receive_bytes_total{pod="web",container="",interface="eth0"} 1234 1700000000123
                """);
        assertThat(PodCommands.prometheusText(descriptors, List.of(pod), "network")).startsWith(
                "# HELP container_network_receive_bytes_total").doesNotContain("memory");
    }

    private static io.berth.cri.api.Metric metric(String name, io.berth.cri.api.MetricType type, long value,
            long timestamp, String... labels) {
        return io.berth.cri.api.Metric.newBuilder().setName(name).setMetricType(type).setTimestamp(timestamp)
                .addAllLabelValues(List.of(labels)).setValue(UInt64Value.newBuilder().setValue(value)).build();
    }
}
