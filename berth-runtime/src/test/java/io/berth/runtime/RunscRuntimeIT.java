package io.berth.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** gVisor: containers in a user-space kernel. Standalone containers here have no network (--network=none). */
class RunscRuntimeIT extends AbstractOciRuntimeContractTest {
  @Override
  RuntimeHandler handler(Path root) {
    return new RuntimeHandler("runsc", Path.of("/usr/bin/runsc"), root.resolve("runsc-root"),
        List.of("--network=none"));
  }

  @Override
  boolean supportsUpdate() {
    return false;
  }

  @Override
  boolean execTimeoutKillsProcess() {
    return false;
  }

  @Test
  void uname_showsGvisorKernel() throws IOException {
    ContainerState s = runToExit(config("/bin/uname", "-r"));
    assertThat(logLines(s.id())).containsExactly("stdout F 4.4.0");
  }
}
