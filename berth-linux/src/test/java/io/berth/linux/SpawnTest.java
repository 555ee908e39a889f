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

  private static long openDescriptors() throws IOException {
    try (var s = Files.list(Path.of("/proc/self/fd"))) {
      return s.count();
    }
  }
}
