package io.berth.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.berth.core.BerthException;
import io.berth.core.ErrorKind;
import io.berth.cri.api.Capability;
import io.berth.cri.api.ContainerConfig;
import io.berth.cri.api.ContainerMetadata;
import io.berth.cri.api.LinuxContainerConfig;
import io.berth.cri.api.LinuxContainerResources;
import io.berth.cri.api.LinuxContainerSecurityContext;
import io.berth.cri.api.LinuxPodSandboxConfig;
import io.berth.cri.api.NamespaceMode;
import io.berth.cri.api.NamespaceOption;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.PodSandboxMetadata;
import io.berth.oci.ContainerRequest;
import io.berth.oci.ImageConfigView;
import io.berth.oci.RuntimeOptions;
import io.berth.oci.RuntimeSpec;
import io.berth.oci.SandboxInfo;
import io.berth.oci.SpecGenerator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The contract every {@link OciRuntime} handler keeps, run against the real runtime, conmon and kernel (root).
 * Subclasses name the handler; each test creates containers on a busybox-static rootfs and, afterwards, checks
 * that no conmon, mount, cgroup or state directory is left behind.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class AbstractOciRuntimeContractTest {
  Path root;
  Path rootfs;
  String cgroupParent;
  Runtimes runtimes;
  OciRuntime runtime;
  static final SpecGenerator GENERATOR = SpecGenerator.create();

  final List<String> created = new ArrayList<>();

  /** The handler under test. */
  abstract RuntimeHandler handler(Path root);

  /** Host preparation a handler needs on this machine (test setup only, never the product). */
  void prepareHost() throws IOException, InterruptedException {}

  /** Whether the handler implements {@code update}. */
  boolean supportsUpdate() {
    return true;
  }

  /**
   * Whether conmon's SIGKILL at an exec timeout reaches the exec'd process. Under runsc it only hits the host-side
   * {@code runsc exec} proxy and the process lives on inside the sandbox (known gap).
   */
  boolean execTimeoutKillsProcess() {
    return true;
  }

  /** Whether the handler enforces memory limits through host cgroups with OOM events conmon sees. */
  boolean reportsOom() {
    return true;
  }

  @BeforeAll
  void setUpAll() throws IOException, InterruptedException {
    assertThat(io.berth.linux.Syscalls.geteuid()).as("integration tests must run as root").isZero();
    prepareHost();
    root = Files.createTempDirectory(Path.of("/tmp"), "berth-it-");
    rootfs = root.resolve("rootfs");
    Files.createDirectories(rootfs.resolve("bin"));
    Files.copy(Path.of("/bin/busybox"), rootfs.resolve("bin/busybox"));
    for (String applet : List.of("sh", "echo", "cat", "sleep", "grep", "touch", "head", "uname", "id", "yes", "tr",
        "ls", "true")) {
      Files.createSymbolicLink(rootfs.resolve("bin").resolve(applet), Path.of("busybox"));
    }
    for (String d : List.of("proc", "dev", "sys", "etc", "tmp")) {
      Files.createDirectories(rootfs.resolve(d));
    }
    cgroupParent = "/" + root.getFileName();
    RuntimeHandler h = handler(root);
    RuntimeConfig config = new RuntimeConfig(root.resolve("state"), Path.of("/usr/bin/conmon"),
        Map.of(h.name(), h), h.name(), "cgroupfs", Duration.ofMinutes(2));
    runtimes = Runtimes.create(config);
    HandlerStatus status = runtimes.handlers().getFirst();
    assertThat(status.usable()).as("handler %s: %s", h.name(), status.reason()).isTrue();
    runtime = runtimes.get(h.name());
  }

  @AfterEach
  void cleanUpAndCheckLeaks() throws IOException {
    for (String id : created) {
      runtime.delete(id, true);
    }
    for (String id : created) {
      assertNoLeaks(id);
    }
    created.clear();
  }

  @AfterAll
  void removeRoot() throws IOException {
    if (root == null) {
      return;
    }
    Cgroups.removeEverywhere(cgroupParent);
    assertThat(Cgroups.existing(cgroupParent)).isEmpty();
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
    root = null;
  }

  // ------------------------------------------------------------------------------------------------ fixtures

  String newId() {
    String id = "c" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    created.add(id);
    return id;
  }

  static ContainerConfig.Builder config(String... command) {
    return ContainerConfig.newBuilder().setMetadata(ContainerMetadata.newBuilder().setName("t"))
        .addAllCommand(List.of(command));
  }

  static ContainerConfig.Builder security(ContainerConfig.Builder c,
      UnaryOperator<LinuxContainerSecurityContext.Builder> f) {
    return c.setLinux(c.getLinux().toBuilder().setSecurityContext(f.apply(c.getLinux().getSecurityContext()
        .toBuilder())));
  }

  static ContainerConfig.Builder resources(ContainerConfig.Builder c,
      UnaryOperator<LinuxContainerResources.Builder> f) {
    return c.setLinux(c.getLinux().toBuilder().setResources(f.apply(c.getLinux().getResources().toBuilder())));
  }

  Path bundle(String id) {
    return root.resolve("bundles").resolve(id);
  }

  Path logPath(String id) {
    return root.resolve("logs").resolve(id + ".log");
  }

  /** Writes the bundle for a container of its own (no pod: private namespaces). */
  Path writeBundle(String id, ContainerConfig.Builder c) {
    PodSandboxConfig pod = PodSandboxConfig.newBuilder()
        .setMetadata(PodSandboxMetadata.newBuilder().setName("p").setNamespace("it").setUid("u"))
        .setHostname("it")
        .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent(cgroupParent))
        .build();
    // A container of its own: private PID namespace.
    ContainerConfig.Builder withPid = security(c, sc -> sc.setNamespaceOptions(sc.getNamespaceOptions().toBuilder()
        .setPid(NamespaceMode.CONTAINER)));
    SandboxInfo sandbox = new SandboxInfo("sb-" + id, pod, 0, null, null, null, null, null);
    RuntimeOptions options = RuntimeOptions.detect(runtime.handler().name(), "cgroupfs", false);
    RuntimeSpec spec = GENERATOR.containerSpec(new ContainerRequest(id, withPid.build(), sandbox,
        ImageConfigView.empty(), "busybox", rootfs, options, 0));
    // A container of its own is its own pod: runsc reads these annotations to pick the sandbox.
    Map<String, String> annotations = new java.util.TreeMap<>(spec.annotations());
    annotations.put(io.berth.oci.CriAnnotations.CONTAINER_TYPE, io.berth.oci.CriAnnotations.CONTAINER_TYPE_SANDBOX);
    annotations.put(io.berth.oci.CriAnnotations.SANDBOX_ID, id);
    spec = new RuntimeSpec(spec.ociVersion(), spec.process(), spec.root(), spec.hostname(), spec.mounts(),
        annotations, spec.linux());
    Path b = bundle(id);
    spec.writeTo(b);
    return b;
  }

  ContainerProcess createAndStart(String id, ContainerConfig.Builder c) {
    ContainerProcess p = runtime.create(id, writeBundle(id, c), CreateOptions.logTo(logPath(id)));
    runtime.start(id);
    return p;
  }

  ContainerState runToExit(ContainerConfig.Builder c) {
    String id = newId();
    createAndStart(id, c);
    assertThat(runtime.awaitExit(id, Duration.ofSeconds(60))).as("container exits").isTrue();
    return runtime.state(id);
  }

  String log(String id) throws IOException {
    return Files.exists(logPath(id)) ? Files.readString(logPath(id)) : "";
  }

  /** Lines of the CRI log without their timestamps. */
  List<String> logLines(String id) throws IOException {
    List<String> out = new ArrayList<>();
    for (String line : log(id).split("\n")) {
      if (!line.isEmpty()) {
        assertThat(line).matches("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d+(Z|[+-]\\d\\d:\\d\\d) "
            + "(stdout|stderr) [PF] .*$");
        out.add(line.substring(line.indexOf(' ') + 1));
      }
    }
    return out;
  }

  void assertNoLeaks(String id) throws IOException {
    Path state = root.resolve("state");
    assertThat(state.resolve("containers").resolve(id)).doesNotExist();
    assertThat(state.resolve("exits").resolve(id)).doesNotExist();
    assertThat(state.resolve("sockets").resolve(id)).doesNotExist();
    assertThat(runtime.list()).doesNotContain(id);
    assertThat(Cgroups.existing(cgroupParent + "/berth-" + id)).as("cgroup of %s", id).isEmpty();
    assertThat(Files.readAllLines(Path.of("/proc/self/mountinfo"))).noneMatch(l -> l.contains(root.toString()));
    assertThat(liveConmons(id)).as("conmon of %s", id).isEmpty();
  }

  /** Live (not zombie) conmon processes watching this container. */
  static List<Integer> liveConmons(String id) throws IOException {
    List<Integer> out = new ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : (Iterable<Path>) procs::iterator) {
        String name = p.getFileName().toString();
        if (!name.chars().allMatch(Character::isDigit)) {
          continue;
        }
        try {
          String cmd = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8);
          if (cmd.startsWith("/usr/bin/conmon") && cmd.contains("\0" + id + "\0")
              && ProcStat.alive(Integer.parseInt(name))) {
            out.add(Integer.parseInt(name));
          }
        } catch (IOException e) {
          // exited meanwhile
        }
      }
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------------ tests

  @Test
  void run_exitCodeAndCriLog() throws IOException {
    String id = newId();
    ContainerProcess p = createAndStart(id, config("/bin/sh", "-c", "echo hello; echo oops >&2; exit 3"));
    assertThat(p.pid()).isPositive();
    assertThat(p.conmonPid()).isPositive();
    assertThat(runtime.awaitExit(id, Duration.ofSeconds(60))).isTrue();
    ContainerState s = runtime.state(id);
    assertThat(s.status()).isEqualTo(ContainerState.Status.STOPPED);
    assertThat(s.exitCode()).isEqualTo(3);
    assertThat(s.finished()).isPresent();
    assertThat(s.oomKilled()).isFalse();
    assertThat(logLines(id)).contains("stdout F hello", "stderr F oops");
  }

  @Test
  void create_thenState_createdUntilStarted() {
    String id = newId();
    ContainerProcess p = runtime.create(id, writeBundle(id, config("/bin/echo", "x")), CreateOptions.logTo(logPath(id)));
    ContainerState s = runtime.state(id);
    assertThat(s.status()).isEqualTo(ContainerState.Status.CREATED);
    assertThat(s.pid()).isEqualTo(p.pid());
    assertThat(runtime.list()).contains(id);
    runtime.start(id);
    assertThat(runtime.awaitExit(id, Duration.ofSeconds(60))).isTrue();
    assertThat(runtime.state(id).exitCode()).isZero();
  }

  @Test
  void create_commandMissing_failsAndLeavesNothing() {
    String id = newId();
    Path b = writeBundle(id, config("/bin/does-not-exist"));
    assertThatThrownBy(() -> {
      runtime.create(id, b, CreateOptions.logTo(logPath(id)));
      runtime.start(id);
    }).isInstanceOf(BerthException.class);
    runtime.delete(id, true);
  }

  @Test
  void conmon_daemonizedInItsOwnSession() {
    String id = newId();
    ContainerProcess p = createAndStart(id, config("/bin/sleep", "60"));
    int self = (int) ProcessHandle.current().pid();
    assertThat(ProcStat.ppid(p.conmonPid())).isNotEqualTo(self);
    assertThat(ProcStat.session(p.conmonPid())).isEqualTo(p.conmonPid()).isNotEqualTo(ProcStat.session(self));
    assertThat(runtime.state(id).status()).isEqualTo(ContainerState.Status.RUNNING);
  }

  @Test
  void stop_processIgnoringSigterm_getsSigkillAfterTimeout() {
    String id = newId();
    createAndStart(id, config("/bin/sh", "-c", "trap '' TERM; while true; do sleep 1; done"));
    runtime.stop(id, 15, Duration.ofSeconds(2));
    ContainerState s = runtime.state(id);
    assertThat(s.status()).isEqualTo(ContainerState.Status.STOPPED);
    assertThat(s.exitCode()).isEqualTo(137);
  }

  @Test
  void stop_processHandlingSigterm_exitsWithItsCode() {
    String id = newId();
    createAndStart(id, config("/bin/sh", "-c", "trap 'exit 0' TERM; echo up; while true; do sleep 0.1; done"));
    awaitLog(id, "up");
    runtime.stop(id, 15, Duration.ofSeconds(60));
    assertThat(runtime.state(id).exitCode()).isZero();
  }

  @Test
  void stop_alreadyExited_isNoop() {
    ContainerState s = runToExit(config("/bin/true"));
    runtime.stop(s.id(), 15, Duration.ofSeconds(1));
    assertThat(runtime.state(s.id()).exitCode()).isZero();
  }

  @Test
  void kill_sigkill_exit137() {
    String id = newId();
    createAndStart(id, config("/bin/sleep", "60"));
    runtime.kill(id, 9, false);
    assertThat(runtime.awaitExit(id, Duration.ofSeconds(60))).isTrue();
    assertThat(runtime.state(id).exitCode()).isEqualTo(137);
  }

  @Test
  void execSync_stdoutStderrExitCode() {
    String id = newId();
    createAndStart(id, config("/bin/sleep", "60"));
    ExecResult r = runtime.execSync(id, List.of("/bin/sh", "-c", "echo out; echo err >&2; exit 5"),
        Duration.ofSeconds(60), 1 << 20);
    assertThat(r.exitCode()).isEqualTo(5);
    assertThat(new String(r.stdout(), StandardCharsets.UTF_8)).isEqualTo("out\n");
    assertThat(new String(r.stderr(), StandardCharsets.UTF_8)).isEqualTo("err\n");
    assertThat(r.timedOut()).isFalse();
  }

  @Test
  void execSync_timeout_killsCommandContainerKeepsRunning() {
    String id = newId();
    createAndStart(id, config("/bin/sleep", "60"));
    ExecResult r = runtime.execSync(id, List.of("/bin/sleep", "600"), Duration.ofSeconds(1), 1 << 20);
    assertThat(r.timedOut()).isTrue();
    assertThat(runtime.state(id).status()).isEqualTo(ContainerState.Status.RUNNING);
    if (!execTimeoutKillsProcess()) {
      return;
    }
    ExecResult ps = runtime.execSync(id, List.of("/bin/sh", "-c", "cat /proc/[0-9]*/cmdline"),
        Duration.ofSeconds(60), 1 << 16);
    assertThat(new String(ps.stdout(), StandardCharsets.UTF_8)).as("the timed-out command is gone")
        .contains("/bin/sleep\u000060\u0000").doesNotContain("600");
  }

  @Test
  void execSync_backgroundChildHoldsStdout_returnsWhenCommandExits() {
    String id = newId();
    createAndStart(id, config("/bin/sleep", "600"));
    ExecResult r = runtime.execSync(id, List.of("/bin/sh", "-c", "sleep 300 & echo started"),
        Duration.ofSeconds(120), 1 << 20);
    assertThat(r.timedOut()).isFalse();
    assertThat(r.exitCode()).isZero();
    assertThat(new String(r.stdout(), StandardCharsets.UTF_8)).isEqualTo("started\n");
  }

  @Test
  void execSync_outputBeyondCap_truncated() {
    String id = newId();
    createAndStart(id, config("/bin/sleep", "60"));
    ExecResult r = runtime.execSync(id, List.of("/bin/sh", "-c", "yes | head -c 3000000; echo done >&2"),
        Duration.ofSeconds(120), 1000);
    assertThat(r.stdout()).hasSize(1000);
    assertThat(r.truncated()).isTrue();
    assertThat(new String(r.stderr(), StandardCharsets.UTF_8)).isEqualTo("done\n");
    assertThat(r.exitCode()).isZero();
  }

  @Test
  void execSync_stoppedContainer_failedPrecondition() {
    ContainerState s = runToExit(config("/bin/true"));
    assertThatThrownBy(() -> runtime.execSync(s.id(), List.of("/bin/true"), Duration.ofSeconds(5), 10))
        .isInstanceOf(BerthException.class)
        .satisfies(e -> assertThat(((BerthException) e).kind()).isEqualTo(ErrorKind.FAILED_PRECONDITION));
  }

  @Test
  void readOnlyRootfs_refusesWrites() throws IOException {
    ContainerState s = runToExit(security(config("/bin/sh", "-c", "touch /x && echo wrote || echo refused"),
        sc -> sc.setReadonlyRootfs(true)));
    assertThat(logLines(s.id())).contains("stdout F refused");
    assertThat(rootfs.resolve("x")).doesNotExist();
    ContainerState rw = runToExit(config("/bin/sh", "-c", "touch /tmp/rw-" + s.id() + " && echo wrote"));
    assertThat(logLines(rw.id())).contains("stdout F wrote");
  }

  @Test
  void droppedCapability_absentFromCapEff() throws IOException {
    ContainerState s = runToExit(security(config("/bin/sh", "-c", "grep -E '^Cap(Eff|Inh|Bnd)' /proc/self/status"),
        sc -> sc.setCapabilities(Capability.newBuilder().addDropCapabilities("NET_RAW").addDropCapabilities("CHOWN")
            .addAddCapabilities("NET_ADMIN"))));
    long eff = capMask(logLines(s.id()), "CapEff");
    long inh = capMask(logLines(s.id()), "CapInh");
    assertThat(eff & (1L << 13)).as("CAP_NET_RAW").isZero();
    assertThat(eff & (1L << 0)).as("CAP_CHOWN").isZero();
    assertThat(eff & (1L << 12)).as("CAP_NET_ADMIN").isNotZero();
    assertThat(eff & (1L << 1)).as("CAP_DAC_OVERRIDE").isNotZero();
    assertThat(eff & (1L << 21)).as("CAP_SYS_ADMIN").isZero();
    assertThat(inh).as("inheritable").isZero();
  }

  static long capMask(List<String> lines, String name) {
    for (String l : lines) {
      String text = l.substring("stdout F ".length());
      if (text.startsWith(name + ":")) {
        return Long.parseUnsignedLong(text.substring(name.length() + 1).strip(), 16);
      }
    }
    throw new AssertionError(name + " not in " + lines);
  }

  @Test
  void memoryLimit_exceeded_oomKilled() {
    assumeTrue(reportsOom(), "handler does not report OOM through host cgroups");
    ContainerState s = runToExit(resources(config("/bin/sh", "-c", "a=xxxxxxxxxxxxxxxx; while true; do a=$a$a; done"),
        r -> r.setMemoryLimitInBytes(32L << 20)));
    assertThat(s.exitCode()).isEqualTo(137);
    assertThat(s.oomKilled()).isTrue();
  }

  @Test
  void updateResources_memoryLimitApplied() throws IOException {
    assumeTrue(supportsUpdate(), "handler has no update command");
    String id = newId();
    createAndStart(id, resources(config("/bin/sleep", "60"), r -> r.setMemoryLimitInBytes(64L << 20)));
    runtime.updateResources(id, new RuntimeSpec.Resources(null, new RuntimeSpec.Memory(96L << 20, null, 96L << 20),
        null, null, null, null));
    Path cg = Cgroups.existing(cgroupParent + "/berth-" + id).stream()
        .filter(p -> Files.exists(p.resolve("memory.limit_in_bytes")) || Files.exists(p.resolve("memory.max")))
        .findFirst().orElseThrow();
    Path limit = Files.exists(cg.resolve("memory.limit_in_bytes")) ? cg.resolve("memory.limit_in_bytes")
        : cg.resolve("memory.max");
    assertThat(Files.readString(limit).strip()).isEqualTo(Long.toString(96L << 20));
  }

  @Test
  void reopenLog_afterRotation_writesNewFile() throws IOException {
    String id = newId();
    createAndStart(id, config("/bin/sh", "-c", "while true; do echo tick; sleep 0.1; done"));
    awaitLog(id, "tick");
    Files.move(logPath(id), logPath(id).resolveSibling(id + ".log.1"));
    runtime.reopenLog(id);
    awaitLog(id, "tick");
    assertThat(logLines(id)).contains("stdout F tick");
  }

  @Test
  void attach_stdinOnce_copiesBothWaysAndEndsWithContainer() throws Exception {
    String id = newId();
    runtime.create(id, writeBundle(id, config("/bin/sh").setStdin(true).setStdinOnce(true)),
        new CreateOptions(logPath(id), false, true, true));
    runtime.start(id);
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
    java.io.InputStream in = new java.io.ByteArrayInputStream(
        "echo hello; echo oops >&2; exit 3\n".getBytes(StandardCharsets.UTF_8));
    runtime.attach(id, in, out, err);
    assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("hello\n");
    assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("oops\n");
    assertThat(runtime.awaitExit(id, Duration.ofSeconds(60))).isTrue();
    assertThat(runtime.state(id).exitCode()).as("stdin's end reached sh").isEqualTo(3);
  }

  @Test
  void unknownContainer_stateNotFound_deleteIdempotent() {
    assertThatThrownBy(() -> runtime.state("cnone0000000"))
        .isInstanceOf(BerthException.class)
        .satisfies(e -> assertThat(((BerthException) e).kind()).isEqualTo(ErrorKind.NOT_FOUND));
    runtime.delete("cnone0000000", false);
    runtime.delete("cnone0000000", true);
  }

  @Test
  void delete_runningWithForce_removesEverything() throws IOException {
    String id = newId();
    createAndStart(id, config("/bin/sleep", "600"));
    runtime.delete(id, true);
    assertNoLeaks(id);
  }

  @Test
  void list_leftoversOfCutShortCreatesAndDeletes_listedAndDeleted() throws Exception {
    Path state = root.resolve("state");
    // a create cut short before conmon's dir got its handler file
    String cutCreate = newId();
    Path persist = Files.createDirectories(state.resolve("containers").resolve(cutCreate));
    Files.writeString(persist.resolve("bundle"), root.resolve("no-such-bundle").toString());
    // a delete cut short after conmon's dir was removed: only the exit file is left
    String cutDelete = newId();
    Files.writeString(state.resolve("exits").resolve(cutDelete), "0");

    assertThat(runtime.list()).contains(cutCreate, cutDelete);
    runtime.delete(cutCreate, true);
    runtime.delete(cutDelete, true);

    assertThat(runtime.list()).doesNotContain(cutCreate, cutDelete);
    assertThat(persist).doesNotExist();
    assertNoLeaks(cutCreate);
    assertNoLeaks(cutDelete);
  }

  void awaitLog(String id, String text) {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      try {
        if (log(id).contains(text)) {
          return;
        }
        Thread.sleep(20);
      } catch (IOException | InterruptedException e) {
        throw new AssertionError(e);
      }
    }
    throw new AssertionError("log of " + id + " never showed " + text);
  }
}
