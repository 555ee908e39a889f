package io.berth.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.core.BerthException;
import io.berth.core.ErrorKind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConmonRuntimeTest {
  @TempDir Path dir;

  ConmonRuntime runtime(String driver, List<String> extra) {
    RuntimeHandler h = new RuntimeHandler("runc", Path.of("/usr/bin/runc"), dir.resolve("runc"), extra);
    return new ConmonRuntime(h, Path.of("/usr/bin/conmon"), dir.resolve("state"), driver, Duration.ofSeconds(5),
        false, CgroupAttachPrimer.open(false, Cgroups.ROOT, Path.of("/proc/self/cgroup")));
  }

  @Test
  void conmonArgs_cgroupfs_criOStyleInvocation() {
    ConmonRuntime r = runtime("cgroupfs", List.of("--debug"));
    Path state = dir.resolve("state");
    List<String> args = r.conmonArgs("c1", Path.of("/b/c1"), CreateOptions.logTo(Path.of("/logs/c1.log")),
        List.of(), false);
    assertThat(args).containsExactly("/usr/bin/conmon", "--api-version", "1", "-c", "c1", "-u", "c1", "-n", "c1",
        "-r", "/usr/bin/runc", "-b", "/b/c1", "-p", "/b/c1/pidfile", "-P",
        state.resolve("containers/c1/conmon.pid").toString(), "--persist-dir", state.resolve("containers/c1").toString(),
        "--exit-dir", state.resolve("exits").toString(), "--socket-dir-path", state.resolve("sockets").toString(),
        "-l", "k8s-file:/logs/c1.log", "--log-level", "info", "--runtime-arg", "--root=" + dir.resolve("runc"),
        "--runtime-arg", "--debug");
  }

  @Test
  void conmonArgs_gvisorSubcontainer_adapterAsRuntimeWithRunscFirstAndPidFileInPersistDir() {
    RuntimeHandler h = new RuntimeHandler("runsc", Path.of("/usr/bin/runsc"), dir.resolve("runsc"),
        List.of("--ignore-cgroups"));
    Path state = dir.resolve("state");
    ConmonRuntime r = new ConmonRuntime(h, Path.of("/usr/bin/conmon"), state, "cgroupfs", Duration.ofSeconds(5), true,
        CgroupAttachPrimer.open(false, Cgroups.ROOT, Path.of("/proc/self/cgroup")));
    List<String> args = r.conmonArgs("c1", Path.of("/b/c1"), CreateOptions.logTo(Path.of("/l")), List.of(), true);
    assertThat(args).containsSubsequence("-r", state.resolve(GvisorSandboxes.ADAPTER).toString())
        .containsSubsequence("-p", state.resolve("containers/c1/pidfile").toString())
        .containsSubsequence("--runtime-arg", "/usr/bin/runsc", "--runtime-arg", "--root=" + dir.resolve("runsc"),
            "--runtime-arg", "--ignore-cgroups");
    assertThat(state.resolve(GvisorSandboxes.ADAPTER)).isExecutable();
    // the sandbox itself (its infra container) is created by runsc directly
    assertThat(r.conmonArgs("c1", Path.of("/b/c1"), CreateOptions.logTo(Path.of("/l")), List.of("--network=host"),
        false))
        .containsSubsequence("-r", "/usr/bin/runsc").containsSubsequence("-p", "/b/c1/pidfile")
        .containsSubsequence("--runtime-arg", "--ignore-cgroups", "--runtime-arg", "--network=host")
        .doesNotContain(state.resolve(GvisorSandboxes.ADAPTER).toString());
  }

  @Test
  void conmonArgs_systemdTerminalStdin_flags() {
    List<String> args = runtime("systemd", List.of()).conmonArgs("c1", Path.of("/b"),
        new CreateOptions(Path.of("/l"), true, true, false), List.of(), false);
    assertThat(args).contains("-s", "-t", "-i", "--leave-stdin-open");
    List<String> once = runtime("cgroupfs", List.of()).conmonArgs("c1", Path.of("/b"),
        new CreateOptions(Path.of("/l"), false, true, true), List.of(), false);
    assertThat(once).contains("-i").doesNotContain("--leave-stdin-open", "-s", "-t");
  }

  @Test
  void create_badIdOrNoConfig_invalid() {
    ConmonRuntime r = runtime("cgroupfs", List.of());
    assertThatThrownBy(() -> r.create("../x", dir, CreateOptions.logTo(dir.resolve("l"))))
        .isInstanceOf(BerthException.class).hasMessageContaining("invalid container id");
    assertThatThrownBy(() -> r.create("c1", dir.resolve("nobundle"), CreateOptions.logTo(dir.resolve("l"))))
        .isInstanceOf(BerthException.class).hasMessageContaining("no config.json");
  }

  /**
   * The primer's write happens before conmon starts, whatever the create's outcome: here a real conmon whose runtime
   * binary is missing (gone since the handler was probed), so the create fails with conmon's reason and leaves no
   * conmon dir, although the runtime cannot be run to delete what it would have made.
   */
  @Test
  void create_primesTheCgroupMoveFirst() throws Exception {
    Path fs = Files.createDirectories(dir.resolve("cgfs/unified/berthd"));
    Files.writeString(dir.resolve("cgfs/unified/cgroup.controllers"), "");
    Path procs = Files.writeString(fs.resolve("cgroup.procs"), "");
    Path self = Files.writeString(dir.resolve("self-cgroup"), "0::/berthd\n");
    CgroupAttachPrimer primer = CgroupAttachPrimer.open(true, dir.resolve("cgfs"), self);
    RuntimeHandler h = new RuntimeHandler("runc", dir.resolve("no-runc"), dir.resolve("runc"), List.of());
    ConmonRuntime r = new ConmonRuntime(h, Path.of("/usr/bin/conmon"), dir.resolve("state"), "cgroupfs",
        Duration.ofSeconds(10), false, primer);
    Path bundle = Files.createDirectories(dir.resolve("bundle"));
    Files.writeString(bundle.resolve("config.json"), "{}");
    assertThatThrownBy(() -> r.create("c1", bundle, CreateOptions.logTo(dir.resolve("logs/c1.log"))))
        .isInstanceOf(BerthException.class).hasMessageContaining("failed to create container c1")
        .satisfies(e -> assertThat(((BerthException) e).kind()).isEqualTo(ErrorKind.FAILED_PRECONDITION));
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (primer.busy() && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(Files.readString(procs)).isEqualTo(Long.toString(ProcessHandle.current().pid()));
    assertThat(dir.resolve("state/containers/c1")).doesNotExist();
    assertThat(dir.resolve("state/exits/c1")).doesNotExist();
    assertThat(dir.resolve("state/sockets/c1")).doesNotExist();
  }

  @Test
  void execOutput_criLog_splitByStreamHonoringPartialLines() throws IOException {
    Path log = dir.resolve("out.log");
    Files.writeString(log, """
        2026-11-26T21:17:14.334350732+00:00 stdout F hello
        2026-11-26T21:17:14.334350732+00:00 stdout P par
        2026-11-26T21:17:14.334350732+00:00 stdout F tial line with  spaces
        2026-11-26T21:17:14.334455698Z stderr F err
        2026-11-26T21:17:14.334455698Z stdout P no newline""");
    ExecOutput out = ExecOutput.parse(log, 1 << 20);
    assertThat(new String(out.stdout(), StandardCharsets.UTF_8))
        .isEqualTo("hello\npartial line with  spaces\nno newline");
    assertThat(new String(out.stderr(), StandardCharsets.UTF_8)).isEqualTo("err\n");
    assertThat(out.truncated()).isFalse();
  }

  @Test
  void execOutput_beyondCap_keepsFirstBytesAndSaysTruncated() throws IOException {
    Path log = dir.resolve("out.log");
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 10_000; i++) {
      b.append("2026-11-26T21:17:14.334350732+00:00 stdout F y\n");
    }
    Files.writeString(log, b);
    ExecOutput out = ExecOutput.parse(log, 7);
    assertThat(new String(out.stdout(), StandardCharsets.UTF_8)).isEqualTo("y\ny\ny\ny");
    assertThat(out.truncated()).isTrue();
  }

  @Test
  void execOutput_missingLog_empty() throws IOException {
    ExecOutput out = ExecOutput.parse(dir.resolve("none"), 10);
    assertThat(out.stdout()).isEmpty();
    assertThat(out.stderr()).isEmpty();
  }

  @Test
  void procStat_selfAliveWithParentAndGroup_unknownPidDead() {
    ProcessHandle me = ProcessHandle.current();
    int self = (int) me.pid();
    assertThat(ProcStat.alive(self)).isTrue();
    assertThat(ProcStat.state(self)).isIn('R', 'S');
    // CI may run us in a pid namespace whose session leader lies outside it (session 0), so only ppid and pgrp
    // are checked, against what the JDK itself reports.
    assertThat(ProcStat.ppid(self)).isEqualTo((int) me.parent().orElseThrow().pid());
    assertThat(ProcStat.pgrp(self)).isNotNegative();
    assertThat(ProcStat.alive(0)).isFalse();
    assertThat(ProcStat.alive(Integer.MAX_VALUE)).isFalse();
  }

  @Test
  void crunHybridProblem_unifiedMode_none() throws IOException {
    Files.writeString(dir.resolve("cgroup.controllers"), "cpu memory hugetlb\n");
    assertThat(HandlerProbe.crunHybridProblem(dir)).isNull();
  }

  @Test
  void runtimes_unknownHandlerInvalid_missingBinaryUnusableWithReason() {
    RuntimeHandler missing = new RuntimeHandler("ghost", dir.resolve("no-such-runtime"), dir.resolve("g"), List.of());
    RuntimeHandler runc = new RuntimeHandler("runc", Path.of("/usr/bin/runc"), dir.resolve("runc"), List.of());
    Runtimes rs = Runtimes.create(new RuntimeConfig(dir.resolve("state"), Path.of("/usr/bin/conmon"),
        Map.of("ghost", missing, "runc", runc), "runc", "cgroupfs", null));
    assertThatThrownBy(() -> rs.get("nope")).isInstanceOf(BerthException.class)
        .satisfies(e -> assertThat(((BerthException) e).kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT));
    assertThatThrownBy(() -> rs.get("ghost")).isInstanceOf(BerthException.class)
        .hasMessageContaining("not found")
        .satisfies(e -> assertThat(((BerthException) e).kind()).isEqualTo(ErrorKind.FAILED_PRECONDITION));
    assertThat(rs.handlers()).extracting(HandlerStatus::name).containsExactly("ghost", "runc");
    assertThat(rs.handlers().get(0).usable()).isFalse();
    if (Files.isExecutable(Path.of("/usr/bin/runc")) && Files.isExecutable(Path.of("/usr/bin/conmon"))) {
      assertThat(rs.get("").handler().name()).isEqualTo("runc");
      assertThat(rs.handlers().get(1).version()).startsWith("runc version");
    }
  }

  @Test
  void runtimes_missingConmon_everyHandlerUnusable() {
    RuntimeHandler runc = new RuntimeHandler("runc", Path.of("/usr/bin/runc"), dir.resolve("runc"), List.of());
    Runtimes rs = Runtimes.create(new RuntimeConfig(dir.resolve("state"), dir.resolve("no-conmon"),
        Map.of("runc", runc), "runc", "cgroupfs", null));
    assertThat(rs.handlers().getFirst().reason()).contains("conmon");
    assertThatThrownBy(() -> rs.get("runc")).hasMessageContaining("conmon");
  }
}
