package io.berth.it;

import static io.berth.it.Cri.container;
import static io.berth.it.Cri.createAndStart;
import static io.berth.it.Cri.pod;
import static io.berth.it.Cri.runPod;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.cri.api.Mount;
import io.berth.cri.api.MountPropagation;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.RuntimeHandler;
import io.berth.cri.api.StatusRequest;
import io.berth.testing.BerthdProcess;
import io.berth.testing.LeakCheck;
import io.berth.testing.LocalRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Recursive read-only mounts (CRI {@code recursive_read_only}): runc has {@code rro}; for crun 1.8, which has not,
 * berthd makes the read-only tree itself. Either way a mount below the volume is read-only in the container too.
 */
class RecursiveReadOnlyIT {
  @RegisterExtension
  @Order(1)
  static final LocalRegistry registry = LocalRegistry.builder().build();

  @RegisterExtension
  @Order(2)
  static final BerthdProcess berthd = BerthdProcess.builder().build();

  @RegisterExtension
  final LeakCheck leaks = berthd.leakCheck();

  static String image;
  Path volume;

  @BeforeAll
  static void pullImage() {
    image = Cri.pushAndPull(berthd, registry, "it/rro");
  }

  @BeforeEach
  void volumeWithASubmount() throws Exception {
    volume = Files.createTempDirectory(berthd.dir(), "vol");
    Files.createDirectory(volume.resolve("sub"));
    run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", volume.resolve("sub").toString());
  }

  @AfterEach
  void unmount() throws Exception {
    run("umount", "-l", volume.resolve("sub").toString());
  }

  private static void run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).inheritIO().start();
    assertThat(p.waitFor()).as(String.join(" ", cmd)).isZero();
  }

  @ParameterizedTest
  @ValueSource(strings = {"runc", "crun"})
  void recursiveReadOnlyVolume_submountReadOnlyInsideTooAndClaimed(String handler) {
    assertThat(berthd.runtime().status(StatusRequest.getDefaultInstance()).getRuntimeHandlersList())
        .filteredOn(h -> h.getName().equals(handler)).extracting(RuntimeHandler::getFeatures)
        .allSatisfy(f -> assertThat(f.getRecursiveReadOnlyMounts()).isTrue());
    PodSandboxConfig.Builder p = pod(berthd, "rro-" + handler);
    String podId = runPod(berthd, p, handler);
    String id = createAndStart(berthd, podId, p, container("c", image, "sleep", "3600")
        .addMounts(Mount.newBuilder().setHostPath(volume.toString()).setContainerPath("/vol").setReadonly(true)
            .setRecursiveReadOnly(true).setPropagation(MountPropagation.PROPAGATION_PRIVATE)));
    var top = Cri.exec(berthd, id, "touch", "/vol/x");
    var sub = Cri.exec(berthd, id, "touch", "/vol/sub/x");
    assertThat(top.getExitCode()).isNotZero();
    assertThat(sub.getExitCode()).as("the submount is read-only too").isNotZero();
    assertThat(sub.getStderr().toStringUtf8()).contains("Read-only file system");
    // and the host's own mount stays writable
    assertThat(volume.resolve("sub").toFile().canWrite()).isTrue();
  }
}
