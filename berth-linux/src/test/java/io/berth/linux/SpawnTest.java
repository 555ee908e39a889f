package io.berth.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpawnTest {
  private static final Map<String, String> ENV = Map.of("PATH", "/usr/bin:/bin", "GREETING", "hi there");

  @TempDir
  Path dir;

  private static String readAll(InputStream in) throws IOException {
    try (in) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void start_childWritesPipeAndLog_inItsDirectoryWithExactlyTheGivenEnvironment() throws Exception {
    Path log = dir.resolve("child.log");
    Spawn.Child child = Spawn.start(List.of("/bin/sh", "-c",
        "echo \"$GREETING from $(pwd)\" >&3; echo to-stdout; echo to-stderr >&2; env | sort >&3"), ENV, dir, log);

    String pipe = readAll(child.pipe());

    assertThat(child.reap(Duration.ofSeconds(10))).isEqualTo(OptionalInt.of(0));
    assertThat(pipe.lines().toList()).first().isEqualTo("hi there from " + dir);
    assertThat(pipe).contains("GREETING=hi there\n", "PATH=/usr/bin:/bin\n").doesNotContain("JAVA_HOME", "HOME=");
    assertThat(Files.readString(log)).isEqualTo("to-stdout\nto-stderr\n");
  }

  @Test
  void start_childHoldsOnlyItsFourDescriptors_defaultSignalsAndAnEmptyMask() throws Exception {
    Path extraFile = Files.writeString(dir.resolve("open-in-parent"), "x");
    try (InputStream held = Files.newInputStream(extraFile)) {
      Spawn.Child child = Spawn.start(List.of("/bin/sleep", "30"), ENV, dir, dir.resolve("log"));
      try {
        List<String> fds;
        try (var s = Files.list(Path.of("/proc/" + child.pid() + "/fd"))) {
          fds = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertThat(fds).as("descriptors of the child").containsExactly("0", "1", "2", "3");
        assertThat(Files.readSymbolicLink(Path.of("/proc/" + child.pid() + "/fd/0"))).isEqualTo(Path.of("/dev/null"));
        String status = Files.readString(Path.of("/proc/" + child.pid() + "/status"));
        assertThat(status).contains("SigBlk:\t0000000000000000");
        // Signals 1-31 at their defaults (glibc's own 32 and 33 are left ignored by posix_spawn, as for any child).
        long ignored = Long.parseLong(status.lines().filter(l -> l.startsWith("SigIgn:")).findFirst().orElseThrow()
            .substring("SigIgn:".length()).strip(), 16);
        assertThat(ignored & 0x7fffffffL).as("ignored standard signals").isZero();
        assertThat(held.read()).as("the parent's own file stays usable").isEqualTo('x');
      } finally {
        Syscalls.kill(child.pid(), 9);
        child.reap(Duration.ofSeconds(10));
        child.pipe().close();
      }
    }
  }

  @Test
  void pipe_endsWhenEveryHolderClosedIt_evenWhileTheChildRuns() throws Exception {
    // A monitor that answers on fd 3 and then lives on: the reader sees the answer and EOF, not a hang.
    Spawn.Child child = Spawn.start(List.of("/bin/sh", "-c", "echo ready >&3; exec 3>&-; sleep 2"), ENV, dir,
        dir.resolve("log"));

    assertThat(readAll(child.pipe())).isEqualTo("ready\n");
    assertThat(child.reap(Duration.ofMillis(50))).as("still running").isEmpty();
    Syscalls.kill(child.pid(), 9);
    assertThat(child.reap(Duration.ofSeconds(10))).isEqualTo(OptionalInt.of(128 + 9));
  }

  @Test
  void reap_reportsTheExitCode() throws Exception {
    Spawn.Child child = Spawn.start(List.of("/bin/sh", "-c", "exit 7"), ENV, dir, dir.resolve("log"));

    assertThat(readAll(child.pipe())).isEmpty();
    assertThat(child.reap(Duration.ofSeconds(10))).isEqualTo(OptionalInt.of(7));
  }

  @Test
  void start_missingProgram_failsWithTheReasonAndLeaksNoDescriptor() throws Exception {
    long before = openDescriptors();

    assertThatThrownBy(() -> Spawn.start(List.of("/nonexistent/conmon"), ENV, dir, dir.resolve("log")))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("/nonexistent/conmon")
        .hasMessageContaining("no such file");
    assertThatThrownBy(() -> Spawn.start(List.of("relative"), ENV, dir, dir.resolve("log")))
        .isInstanceOf(IllegalArgumentException.class);

    assertThat(openDescriptors()).isEqualTo(before);
  }

  @Test
  void run_feedsStdin_capturesBothOutputs_andTheExitCode_withExactlyTheGivenEnvironment() throws Exception {
    Spawn.Result r = Spawn.run(List.of("/bin/sh", "-c", "cat; echo \"$GREETING\" >&2; env | sort; exit 3"), ENV,
        "from stdin\n".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(10), 1 << 20);

    assertThat(r.exitCode()).isEqualTo(3);
    assertThat(r.timedOut()).isFalse();
    String out = new String(r.stdout(), StandardCharsets.UTF_8);
    assertThat(out).startsWith("from stdin\n").contains("GREETING=hi there\n").doesNotContain("JAVA_HOME", "HOME=");
    assertThat(new String(r.stderr(), StandardCharsets.UTF_8)).isEqualTo("hi there\n");
  }

  @Test
  void run_childHoldsOnlyItsStdio_andALargeInputComesThroughWhole() throws Exception {
    Spawn.Result fds = Spawn.run(List.of("/bin/sh", "-c", "ls /proc/$$/fd"), ENV, null, Duration.ofSeconds(10), 4096);
    assertThat(new String(fds.stdout(), StandardCharsets.UTF_8).lines().toList()).containsExactly("0", "1", "2");

    // More than a pipe holds: written beside the reading, or cat and berthd would wait on each other.
    byte[] big = new byte[3 << 20];
    new java.util.Random(7).nextBytes(big);
    Spawn.Result copy = Spawn.run(List.of("/bin/cat"), ENV, big, Duration.ofSeconds(30), 4 << 20);
    assertThat(copy.exitCode()).isZero();
    assertThat(copy.stdout()).isEqualTo(big);
  }

  @Test
  void run_capsOutput_butReadsItAllSoTheCommandFinishes() throws Exception {
    Spawn.Result r = Spawn.run(List.of("/bin/sh", "-c", "head -c 5000000 /dev/zero; echo done >&2"), ENV, null,
        Duration.ofSeconds(30), 1000);

    assertThat(r.exitCode()).isZero();
    assertThat(r.stdout()).hasSize(1000);
    assertThat(new String(r.stderr(), StandardCharsets.UTF_8)).isEqualTo("done\n");
  }

  @Test
  void run_pastItsDeadline_killsTheCommandAndWhatItStarted() throws Exception {
    Spawn.Result r = Spawn.run(List.of("/bin/sh", "-c", "sleep 60 & echo $! >&2; wait"), ENV, null,
        Duration.ofMillis(300), 4096);

    assertThat(r.timedOut()).isTrue();
    assertThat(r.exitCode()).isEqualTo(128 + 9);
    int sleeper = Integer.parseInt(new String(r.stderr(), StandardCharsets.UTF_8).strip());
    // Reparented to an init that may reap lazily: dead means gone or a zombie.
    Path stat = Path.of("/proc/" + sleeper + "/stat");
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (Files.exists(stat) && !isZombie(stat) && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(!Files.exists(stat) || isZombie(stat)).as("the command's child is dead").isTrue();
  }

  @Test
  void run_callerInterrupted_commandIsKilledAndReapedBeforeTheCallThrows() throws Exception {
    Path pidFile = dir.resolve("pid");
    java.util.concurrent.CompletableFuture<Throwable> outcome = new java.util.concurrent.CompletableFuture<>();
    Thread caller = Thread.ofVirtual().start(() -> {
      try {
        Spawn.run(List.of("/bin/sh", "-c", "echo $$ > " + pidFile + "; exec sleep 60"), ENV, null,
            Duration.ofSeconds(120), 4096);
        outcome.complete(null);
      } catch (Throwable t) {
        outcome.complete(t);
      }
    });
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while ((!Files.exists(pidFile) || Files.readString(pidFile).isBlank()) && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    int pid = Integer.parseInt(Files.readString(pidFile).strip());
    caller.interrupt();

    assertThat(outcome.get(30, java.util.concurrent.TimeUnit.SECONDS)).isInstanceOf(InterruptedException.class);
    assertThat(Path.of("/proc/" + pid)).as("killed and reaped (it was this JVM's child)").doesNotExist();
  }

  @Test
  void run_whileCommandsBlockOnTheirOutput_virtualThreadsStillRun() throws Exception {
    // More waiting commands than carrier threads: their pipe reads must not hold the carriers.
    int commands = Runtime.getRuntime().availableProcessors() + 2;
    List<java.util.concurrent.CompletableFuture<Spawn.Result>> running = new java.util.ArrayList<>();
    for (int i = 0; i < commands; i++) {
      java.util.concurrent.CompletableFuture<Spawn.Result> f = new java.util.concurrent.CompletableFuture<>();
      Thread.ofVirtual().start(() -> {
        try {
          f.complete(Spawn.run(List.of("/bin/sleep", "3"), ENV, null, Duration.ofSeconds(30), 10));
        } catch (Exception e) {
          f.completeExceptionally(e);
        }
      });
      running.add(f);
    }
    Thread.sleep(300);

    java.util.concurrent.CompletableFuture<String> probe = new java.util.concurrent.CompletableFuture<>();
    Thread.ofVirtual().start(() -> probe.complete("ran"));

    assertThat(probe.get(2, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("ran");
    assertThat(running).as("the commands still run").noneMatch(java.util.concurrent.CompletableFuture::isDone);
    for (var f : running) {
      assertThat(f.get(30, java.util.concurrent.TimeUnit.SECONDS).exitCode()).isZero();
    }
  }

  @Test
  void run_commandExitsWhileItsChildHoldsTheOutput_returnsWithoutWaitingForTheDeadline() throws Exception {
    long t0 = System.nanoTime();
    Spawn.Result r = Spawn.run(List.of("/bin/sh", "-c", "sleep 2 & echo started"), ENV, null, Duration.ofSeconds(120),
        4096);

    assertThat(r.timedOut()).isFalse();
    assertThat(r.exitCode()).isZero();
    assertThat(new String(r.stdout(), StandardCharsets.UTF_8)).isEqualTo("started\n");
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("far below the 120 s deadline")
        .isLessThan(Duration.ofSeconds(30));
  }

  @Test
  void run_withoutPidfd_stillSeesExitsDeadlinesAndOutput() throws Exception {
    Spawn.usePidfd = false;
    try {
      long before = openDescriptors();
      Spawn.Result r = Spawn.run(List.of("/bin/sh", "-c", "cat; echo err >&2; exit 4"), ENV,
          "in\n".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(10), 4096);
      assertThat(r.exitCode()).isEqualTo(4);
      assertThat(new String(r.stdout(), StandardCharsets.UTF_8)).isEqualTo("in\n");
      assertThat(new String(r.stderr(), StandardCharsets.UTF_8)).isEqualTo("err\n");

      Spawn.Result held = Spawn.run(List.of("/bin/sh", "-c", "sleep 2 & echo started"), ENV, null,
          Duration.ofSeconds(120), 4096);
      assertThat(held.exitCode()).isZero();
      assertThat(held.timedOut()).isFalse();

      Spawn.Result late = Spawn.run(List.of("/bin/sleep", "60"), ENV, null, Duration.ofMillis(200), 4096);
      assertThat(late.timedOut()).isTrue();
      assertThat(late.exitCode()).isEqualTo(128 + 9);
      assertThat(openDescriptors()).isEqualTo(before);
    } finally {
      Spawn.usePidfd = true;
    }
  }

  @Test
  void run_manyCommands_leaveNoDescriptorBehind() throws Exception {
    long before = openDescriptors();
    for (int i = 0; i < 50; i++) {
      assertThat(Spawn.run(List.of("/bin/true"), ENV, null, Duration.ofSeconds(10), 16).exitCode()).isZero();
    }
    assertThat(openDescriptors()).isEqualTo(before);
  }

  @Test
  void run_missingProgram_failsWithTheReasonAndLeaksNoDescriptor() throws Exception {
    long before = openDescriptors();

    assertThatThrownBy(() -> Spawn.run(List.of("/nonexistent/runc", "start"), ENV, null, Duration.ofSeconds(5), 10))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("/nonexistent/runc")
        .hasMessageContaining("no such file");

    assertThat(openDescriptors()).isEqualTo(before);
  }

  private static boolean isZombie(Path stat) {
    try {
      String s = Files.readString(stat);
      return s.substring(s.lastIndexOf(')') + 2).startsWith("Z");
    } catch (IOException e) {
      return false; // gone meanwhile
    }
  }

  private static long openDescriptors() throws IOException {
    try (var s = Files.list(Path.of("/proc/self/fd"))) {
      return s.count();
    }
  }
}
