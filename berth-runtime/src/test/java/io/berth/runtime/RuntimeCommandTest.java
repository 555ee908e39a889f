package io.berth.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.core.BerthException;
import io.berth.core.ErrorKind;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class RuntimeCommandTest {

  @Test
  void run_givesStdinAndReturnsExitCodeAndBothOutputs() {
    RuntimeCommand.Result r = RuntimeCommand.run(List.of("/bin/sh", "-c", "cat; echo oops >&2; exit 2"),
        "state json".getBytes(StandardCharsets.UTF_8), Duration.ofSeconds(10));

    assertThat(r.ok()).isFalse();
    assertThat(r.exitCode()).isEqualTo(2);
    assertThat(r.stdout()).isEqualTo("state json");
    assertThat(r.message()).isEqualTo("oops");
  }

  @Test
  void run_findsABareProgramNameInPath_andKeepsBerthdsEnvironmentWithASanePath() {
    RuntimeCommand.Result r = RuntimeCommand.run(List.of("sh", "-c", "echo $PATH"), null, Duration.ofSeconds(10));

    assertThat(r.ok()).isTrue();
    assertThat(r.stdout().strip()).isEqualTo("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  }

  @Test
  void run_pastTheTimeout_isDeadlineExceeded() {
    assertThatThrownBy(() -> RuntimeCommand.run(List.of("/bin/sleep", "30"), null, Duration.ofMillis(200)))
        .isInstanceOf(BerthException.class)
        .hasMessageContaining("/bin/sleep 30 did not finish within")
        .extracting(e -> ((BerthException) e).kind()).isEqualTo(ErrorKind.DEADLINE_EXCEEDED);
  }

  @Test
  void run_missingProgram_isFailedPreconditionNamingIt() {
    assertThatThrownBy(() -> RuntimeCommand.run(List.of("/nonexistent/runc", "state", "x"), null,
        Duration.ofSeconds(5)))
        .isInstanceOf(BerthException.class)
        .hasMessageContaining("cannot run /nonexistent/runc")
        .extracting(e -> ((BerthException) e).kind()).isEqualTo(ErrorKind.FAILED_PRECONDITION);
    assertThatThrownBy(() -> RuntimeCommand.run(List.of("no-such-runtime-binary"), null, Duration.ofSeconds(5)))
        .isInstanceOf(BerthException.class)
        .hasMessageContaining("no-such-runtime-binary: not found in");
  }
}
