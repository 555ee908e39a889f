package io.berth.it;

import static io.berth.it.Cri.awaitExit;
import static io.berth.it.Cri.container;
import static io.berth.it.Cri.create;
import static io.berth.it.Cri.createAndStart;
import static io.berth.it.Cri.pod;
import static io.berth.it.Cri.runPod;
import static io.berth.it.Cri.status;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.cri.api.ContainerState;
import io.berth.cri.api.ContainerStatus;
import io.berth.cri.api.ListPodSandboxRequest;
import io.berth.cri.api.PodSandbox;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.PodSandboxState;
import io.berth.cri.api.StartContainerRequest;
import io.berth.cri.api.StopContainerRequest;
import io.berth.cri.api.StopPodSandboxRequest;
import io.berth.testing.BerthdProcess;
import io.berth.testing.LeakCheck;
import io.berth.testing.LocalRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** berthd killed with SIGKILL while pods run, then started again on the same root and state: nothing is lost. */
class RecoveryIT {
  @RegisterExtension
  static final LocalRegistry registry = LocalRegistry.builder().build();

  @Test
  void restart_afterSigkill_everySandboxAndContainerKnownWithItsState() throws Exception {
    try (BerthdProcess berthd = BerthdProcess.builder().start()) {
      LeakCheck leaks = berthd.leakCheck();
      LeakCheck.Snapshot before = leaks.snapshot();
      String image = Cri.pushAndPull(berthd, registry, "it/recovery");

      PodSandboxConfig.Builder podA = pod(berthd, "recover-a");
      String a = runPod(berthd, podA, "");
      String running = createAndStart(berthd, a, podA, container("running", image, "sleep", "3600"));
      String created = create(berthd, a, podA, container("created", image, "true"));
      String done = createAndStart(berthd, a, podA, container("done", image, "true"));
      awaitExit(berthd, done);
      // exits while berthd is down: it waits for a file the test creates through the host's view of its rootfs
      String later = createAndStart(berthd, a, podA, container("later", image,
          "sh", "-c", "while [ ! -e /tmp/exit-now ]; do sleep 0.1; done; exit 7"));
      PodSandboxConfig.Builder podB = pod(berthd, "recover-b");
      String b = runPod(berthd, podB, "crun");
      String bRunning = createAndStart(berthd, b, podB, container("b", image, "sleep", "3600"));
      PodSandboxConfig.Builder podC = pod(berthd, "recover-c");
      String c = runPod(berthd, podC, "");
      berthd.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(c).build());

      long oldPid = berthd.pid();
      berthd.kill();
      assertThat(ProcessHandle.of(oldPid).map(ProcessHandle::isAlive).orElse(false)).isFalse();

      Path rootfs = rootfsOf(berthd, later);
      Files.writeString(rootfs.resolve("tmp/exit-now"), "");
      awaitFile(berthd.state().resolve("containers-runtime/exits").resolve(later));

      berthd.start();
      Map<String, PodSandboxState> pods = berthd.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance())
          .getItemsList().stream().collect(Collectors.toMap(PodSandbox::getId, PodSandbox::getState));
      assertThat(pods).containsEntry(a, PodSandboxState.SANDBOX_READY)
          .containsEntry(b, PodSandboxState.SANDBOX_READY)
          .containsEntry(c, PodSandboxState.SANDBOX_NOTREADY);

      assertThat(status(berthd, running).getState()).isEqualTo(ContainerState.CONTAINER_RUNNING);
      assertThat(status(berthd, bRunning).getState()).isEqualTo(ContainerState.CONTAINER_RUNNING);
      assertThat(status(berthd, created).getState()).isEqualTo(ContainerState.CONTAINER_CREATED);
      ContainerStatus doneStatus = status(berthd, done);
      assertThat(doneStatus.getState()).isEqualTo(ContainerState.CONTAINER_EXITED);
      assertThat(doneStatus.getExitCode()).isZero();
      ContainerStatus laterStatus = awaitExit(berthd, later);
      assertThat(laterStatus.getExitCode()).isEqualTo(7);
      assertThat(laterStatus.getFinishedAt()).isGreaterThan(laterStatus.getStartedAt());

      // running ones can still be exec'd into and stopped
      assertThat(Cri.exec(berthd, running, "echo", "alive").getStdout().toStringUtf8()).isEqualTo("alive\n");
      berthd.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(running).setTimeout(2).build());
      assertThat(status(berthd, running).getState()).isEqualTo(ContainerState.CONTAINER_EXITED);
      berthd.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(b).build());
      assertThat(status(berthd, bRunning).getState()).isEqualTo(ContainerState.CONTAINER_EXITED);

      berthd.removeAllPods();
      leaks.assertNoLeaks(before);
    }
  }

  /**
   * A gVisor pod: its sandbox and the containers joined to it run under conmon (sub-containers through their proxy),
   * so they outlive berthd like runc's; one that was only created can still be started afterwards.
   */
  @Test
  void restart_afterSigkill_runscPodContainersKeepRunning() throws Exception {
    try (BerthdProcess berthd = BerthdProcess.builder().start()) {
      LeakCheck leaks = berthd.leakCheck();
      LeakCheck.Snapshot before = leaks.snapshot();
      String image = Cri.pushAndPull(berthd, registry, "it/recovery-runsc");
      PodSandboxConfig.Builder pod = pod(berthd, "recover-runsc");
      String podId = runPod(berthd, pod, "runsc");
      String running = createAndStart(berthd, podId, pod, container("running", image, "sleep", "3600"));
      String created = create(berthd, podId, pod, container("created", image, "sh", "-c", "echo late start"));
      String done = createAndStart(berthd, podId, pod, container("done", image, "true"));
      awaitExit(berthd, done);
      String killed = createAndStart(berthd, podId, pod, container("killed", image, "sleep", "3600"));
      assertThat(status(berthd, killed).getState()).isEqualTo(ContainerState.CONTAINER_RUNNING);

      berthd.kill();
      // killed while berthd is down, by the runtime itself
      Process kill = new ProcessBuilder("/usr/bin/runsc", "--root=" + berthd.state().resolve("runtime/runsc"),
          "kill", killed, "9").redirectErrorStream(true).start();
      assertThat(kill.waitFor()).as(new String(kill.getInputStream().readAllBytes())).isZero();
      awaitFile(berthd.state().resolve("containers-runtime/exits").resolve(killed));

      berthd.start();
      assertThat(berthd.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList())
          .filteredOn(p -> p.getId().equals(podId)).singleElement()
          .satisfies(p -> assertThat(p.getState()).isEqualTo(PodSandboxState.SANDBOX_READY));
      assertThat(status(berthd, running).getState()).isEqualTo(ContainerState.CONTAINER_RUNNING);
      assertThat(status(berthd, created).getState()).isEqualTo(ContainerState.CONTAINER_CREATED);
      assertThat(status(berthd, done).getExitCode()).isZero();
      ContainerStatus killedStatus = awaitExit(berthd, killed);
      assertThat(killedStatus.getExitCode()).isEqualTo(137);

      assertThat(Cri.exec(berthd, running, "uname", "-r").getStdout().toStringUtf8()).isEqualTo("4.4.0\n");
      berthd.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(created).build());
      ContainerStatus late = awaitExit(berthd, created);
      assertThat(late.getExitCode()).isZero();
      assertThat(Cri.logLines(late, 1)).singleElement().satisfies(l -> assertThat(l).endsWith(" stdout F late start"));
      berthd.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(running).setTimeout(2).build());
      assertThat(status(berthd, running).getState()).isEqualTo(ContainerState.CONTAINER_EXITED);
      berthd.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());

      berthd.removeAllPods();
      leaks.assertNoLeaks(before);
    }
  }

  @Test
  void restart_corruptSandboxRecord_setAsideAndDaemonStarts() throws Exception {
    try (BerthdProcess berthd = BerthdProcess.builder().start()) {
      String image = Cri.pushAndPull(berthd, registry, "it/corrupt");
      PodSandboxConfig.Builder good = pod(berthd, "good");
      String goodId = runPod(berthd, good, "");
      String goodContainer = createAndStart(berthd, goodId, good, container("c", image, "sleep", "3600"));
      PodSandboxConfig.Builder bad = pod(berthd, "bad");
      String badId = runPod(berthd, bad, "");
      berthd.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(badId).build());
      PodSandboxConfig.Builder badJson = pod(berthd, "bad-json");
      String badJsonId = runPod(berthd, badJson, "");
      berthd.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(badJsonId).build());
      berthd.kill();

      // Records are binary protobuf: a truncated one (field 1, then a length that never ends), and one in the JSON
      // that Berth wrote before schema 2, broken.
      sqlite(berthd.database(), "UPDATE sandboxes SET data = X'0AFF' WHERE id = '" + badId + "';");
      sqlite(berthd.database(), "UPDATE sandboxes SET data = CAST('{\"id\": 17, not json' AS BLOB) WHERE id = '"
          + badJsonId + "';");
      assertThat(sqlite(berthd.database(), "SELECT hex(data) FROM sandboxes WHERE id = '" + badId + "';"))
          .contains("0AFF");

      berthd.start();
      assertThat(berthd.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList())
          .extracting(PodSandbox::getId).contains(goodId).doesNotContain(badId, badJsonId);
      assertThat(status(berthd, goodContainer).getState()).isEqualTo(ContainerState.CONTAINER_RUNNING);
      assertThat(Files.readString(berthd.logFile())).contains(badId).contains(badJsonId);
      // the same name can be used again: the bad record does not hold it hostage after it is set aside
      String again = runPod(berthd, pod(berthd, "another"), "");
      assertThat(again).isNotEqualTo(badId);
      // and a second restart still starts
      berthd.stop();
      berthd.start();
      assertThat(status(berthd, goodContainer).getState()).isEqualTo(ContainerState.CONTAINER_RUNNING);
    }
  }

  private static Path rootfsOf(BerthdProcess berthd, String containerId) {
    // the container's rootfs as mounted on the host (an overlay under berthd's dir, named by the container id)
    return LeakCheck.mountPointsUnder(berthd.dir()).stream().filter(m -> m.contains(containerId))
        .filter(m -> !m.contains("/shm")).map(Path::of).findFirst()
        .orElseThrow(() -> new AssertionError("no rootfs mount for " + containerId + " under " + berthd.dir()));
  }

  private static void awaitFile(Path f) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!Files.exists(f)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(f + " did not appear");
      }
      Cri.sleep(100);
    }
  }

  static String sqlite(Path db, String sql) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("sqlite3", db.toString(), sql).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IOException("sqlite3 failed: " + out);
    }
    return out;
  }
}
