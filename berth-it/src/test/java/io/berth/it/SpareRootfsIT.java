package io.berth.it;

import static io.berth.it.Cri.container;
import static io.berth.it.Cri.pod;
import static io.berth.it.Cri.runPod;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.cri.api.ContainerStatus;
import io.berth.cri.api.ImageSpec;
import io.berth.cri.api.LinuxContainerConfig;
import io.berth.cri.api.LinuxContainerSecurityContext;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.PullImageRequest;
import io.berth.cri.api.RemoveImageRequest;
import io.berth.testing.BerthdProcess;
import io.berth.testing.LeakCheck;
import io.berth.testing.LocalRegistry;
import io.berth.testing.TestImages;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Rootfs made ahead: after a container of an image is created, berthd keeps one spare rootfs of that image mounted,
 * and the image's next container takes it (its id becomes the container's). Spares go with their image, at a clean
 * stop, and at the start after a crash; a create that took one and failed leaves nothing.
 */
class SpareRootfsIT {

  @RegisterExtension
  @Order(1)
  static final LocalRegistry registry = LocalRegistry.builder().build();

  @RegisterExtension
  @Order(2)
  static final BerthdProcess berthd = BerthdProcess.builder().build();

  @RegisterExtension
  @Order(3)
  static final BerthdProcess noSpares = BerthdProcess.builder().toml("[runtime]\nspare_rootfs = 0").build();

  @RegisterExtension
  final LeakCheck leaks = berthd.leakCheck();

  @RegisterExtension
  final LeakCheck noSpareLeaks = noSpares.leakCheck();

  static String image;

  @BeforeAll
  static void pullImage() {
    image = Cri.pushAndPull(berthd, registry, "it/spares");
  }

  @Test
  void theNextContainerOfAnImage_takesItsSpare_andAnotherIsMade() throws IOException {
    String first = createIn(berthd, "first", image, "sh", "-c", "echo one > /written; cat /written");
    // One, or more when earlier tests' containers came faster than spares were made.
    Set<String> ready = awaitSettledSpares(berthd);
    assertThat(ready).doesNotContain(first);
    for (String spare : ready) {
      assertThat(mountTypeAt(rootfsOfSpare(berthd, spare))).contains("overlay");
      assertThat(berthd.root().resolve("snapshots/active").resolve(spare)).isDirectory();
    }

    String second = createIn(berthd, "second", image, "sh", "-c", "echo two > /written; cat /written");
    assertThat(second).isIn(ready);
    Path spareRootfs = rootfsOfSpare(berthd, second);
    assertThat(berthd.logTail(400)).contains("container " + second).contains("rootfs made ahead");
    Path rootfs = berthd.state().resolve("containers").resolve(second).resolve("bundle/rootfs");
    assertThat(mountTypeAt(rootfs)).contains("overlay");
    assertThat(mountTypeAt(spareRootfs)).isEmpty();

    // Both run on writable layers of their own.
    for (String id : List.of(first, second)) {
      berthd.runtime().startContainer(io.berth.cri.api.StartContainerRequest.newBuilder().setContainerId(id).build());
    }
    ContainerStatus one = Cri.awaitExit(berthd, first);
    ContainerStatus two = Cri.awaitExit(berthd, second);
    assertThat(one.getExitCode()).isZero();
    assertThat(two.getExitCode()).isZero();
    assertThat(Cri.logLines(one, 1).getFirst()).endsWith(" one");
    assertThat(Cri.logLines(two, 1).getFirst()).endsWith(" two");

    // A new one replaces the taken one.
    String next = awaitSpare(berthd, () -> berthd.spareIds().stream().filter(id -> !ready.contains(id)).findFirst());
    assertThat(next).isNotIn(first, second);
  }

  @Test
  void removingTheImage_dropsItsSpare_andGcFreesItsLayers() {
    TestImages.Layer own = TestImages.layer().file("own-" + UUID.randomUUID(), "only in this image\n").gzip().build();
    TestImages.Layer base = TestImages.busybox();
    TestImages.Pushed pushed = TestImages.push(registry.url(), "it/spares-gone", "1.0",
        TestImages.image().layer(base).layer(own).build(), Optional.empty());
    berthd.images().pullImage(PullImageRequest.newBuilder()
        .setImage(ImageSpec.newBuilder().setImage(pushed.reference())).build());
    Set<String> sparesBefore = berthd.spareIds();
    createIn(berthd, "gone", pushed.reference(), "sh", "-c", "exit 0");
    String spare = awaitSpare(berthd, () -> berthd.spareIds().stream().filter(s -> !sparesBefore.contains(s))
        .findFirst());
    berthd.removeAllPods(); // the container goes; its image's spare stays

    assertThat(berthd.spareIds()).contains(spare);
    String topChain = chainId(base.diffId().toString(), own.diffId().toString());
    Path topLayer = berthd.root().resolve("snapshots/layers").resolve(topChain.substring("sha256:".length()));
    assertThat(topLayer).isDirectory();

    berthd.images().removeImage(RemoveImageRequest.newBuilder()
        .setImage(ImageSpec.newBuilder().setImage(pushed.reference())).build());
    awaitTrue("the spare of the removed image dropped and its own layer collected", () ->
        !berthd.spareIds().contains(spare) && !Files.exists(topLayer));
    assertThat(berthd.root().resolve("snapshots/active").resolve(spare)).doesNotExist();
    assertThat(LeakCheck.mountPointsUnder(berthd.state().resolve("spares"))).isEmpty();
  }

  @Test
  void aCreateThatTookTheSpareAndFailed_leavesNothingOfIt() {
    createIn(berthd, "before-ghost", image, "true");
    Set<String> ready = awaitSettledSpares(berthd);
    berthd.removeAllPods();

    PodSandboxConfig.Builder pod = pod(berthd, "ghost");
    String podId = runPod(berthd, pod, "");
    // Refused once the rootfs is there (the image has no such user), after the spare became the container's.
    assertThatThrownBy(() -> Cri.create(berthd, podId, pod, container("c", image, "true")
        .setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext.newBuilder()
            .setRunAsUsername("ghost")))))
        .isInstanceOf(StatusRuntimeException.class)
        .hasMessageContaining("ghost");
    // One was taken (nothing else drops a spare of an image still there; a failed create asks for none), and
    // everything under its id is gone; the leak check after this test looks for its mount, dir and snapshot too,
    // no longer exempt as a spare's.
    Set<String> taken = new HashSet<>(ready);
    taken.removeAll(berthd.spareIds());
    assertThat(taken).hasSize(1);
    String spare = taken.iterator().next();
    assertThat(berthd.root().resolve("snapshots/active").resolve(spare)).doesNotExist();
    assertThat(berthd.state().resolve("containers").resolve(spare)).doesNotExist();
  }

  @Test
  void sparesAreRemoved_atACleanStop_andAtTheStartAfterACrash() {
    createIn(berthd, "stop", image, "true");
    Set<String> atStop = awaitSettledSpares(berthd);
    berthd.removeAllPods();

    berthd.stop();
    assertThat(LeakCheck.mountPointsUnder(berthd.state().resolve("spares"))).isEmpty();
    for (String spare : atStop) {
      assertThat(berthd.state().resolve("spares").resolve(spare)).doesNotExist();
      assertThat(berthd.root().resolve("snapshots/active").resolve(spare)).doesNotExist();
    }
    berthd.start();

    createIn(berthd, "crash", image, "true");
    String left = awaitOneSpare(berthd); // the first container after a start: one spare, no more
    berthd.removeAllPods();
    berthd.kill();
    assertThat(LeakCheck.mountPointsUnder(berthd.state().resolve("spares"))).isNotEmpty(); // a crash leaves it
    berthd.start();
    assertThat(berthd.spareIds()).doesNotContain(left);
    assertThat(LeakCheck.mountPointsUnder(berthd.state().resolve("spares"))).isEmpty();
    assertThat(berthd.root().resolve("snapshots/active").resolve(left)).doesNotExist();
    assertThat(berthd.logTail(200)).contains("removed 1 spare rootfs left by an earlier run");
  }

  @Test
  void spareRootfsZero_makesNone() {
    String img = Cri.pushAndPull(noSpares, registry, "it/no-spares");
    String first = createIn(noSpares, "a", img, "true");
    String second = createIn(noSpares, "b", img, "true");
    Cri.sleep(500); // a spare would have been made by now (a few ms)
    assertThat(noSpares.spareIds()).isEmpty();
    assertThat(noSpares.logTail(400)).contains("container " + first).contains("container " + second)
        .doesNotContain("made ahead");
  }

  private static String createIn(BerthdProcess d, String name, String img, String... command) {
    PodSandboxConfig.Builder pod = pod(d, name);
    String podId = runPod(d, pod, "");
    return Cri.create(d, podId, pod, container("c", img, command));
  }

  private static Path rootfsOfSpare(BerthdProcess d, String id) {
    return d.state().resolve("spares").resolve(id).resolve("bundle/rootfs");
  }

  /** The spares once there is at least one, all mounted, and none came or went for 300 ms. */
  private static Set<String> awaitSettledSpares(BerthdProcess d) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    Set<String> last = Set.of();
    long stableSince = System.nanoTime();
    while (System.nanoTime() < deadline) {
      Set<String> now = d.spareIds();
      boolean mounted = !now.isEmpty() && now.stream().noneMatch(id -> mountTypeAt(rootfsOfSpare(d, id)).isEmpty());
      if (!now.equals(last) || !mounted) {
        last = now;
        stableSince = System.nanoTime();
      } else if (System.nanoTime() - stableSince > TimeUnit.MILLISECONDS.toNanos(300)) {
        return now;
      }
      Cri.sleep(50);
    }
    throw new AssertionError("spares did not settle within 10 s: " + d.spareIds());
  }

  private static String awaitOneSpare(BerthdProcess d) {
    return awaitSpare(d, () -> d.spareIds().stream().findFirst());
  }

  private static String awaitSpare(BerthdProcess d, Supplier<Optional<String>> spare) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      Optional<String> s = spare.get();
      if (s.isPresent() && !mountTypeAt(d.state().resolve("spares").resolve(s.get()).resolve("bundle/rootfs"))
          .isEmpty()) {
        return s.get();
      }
      Cri.sleep(50);
    }
    throw new AssertionError("no spare rootfs made within 10 s; spares: " + d.spareIds());
  }

  private static void awaitTrue(String what, Supplier<Boolean> done) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!done.get()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 10 s: " + what);
      }
      Cri.sleep(50);
    }
  }

  /** The file system type mounted at {@code path}, from mountinfo; empty when nothing is. */
  private static String mountTypeAt(Path path) {
    try (Stream<String> lines = Files.lines(Path.of("/proc/self/mountinfo"))) {
      return lines.map(l -> l.split(" "))
          .filter(f -> f.length > 4 && f[4].equals(path.toString()))
          .map(f -> f[List.of(f).indexOf("-") + 1])
          .reduce((a, b) -> b)
          .orElse("");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** OCI image spec ChainID of a second layer: sha256 of "chain(below) diffId". */
  private static String chainId(String below, String diffId) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest((below + " " + diffId).getBytes(StandardCharsets.UTF_8));
      return "sha256:" + HexFormat.of().formatHex(d);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
