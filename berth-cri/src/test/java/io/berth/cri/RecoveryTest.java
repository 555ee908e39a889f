package io.berth.cri;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.core.BerthException;
import io.berth.cri.api.ContainerConfig;
import io.berth.cri.api.ContainerMetadata;
import io.berth.cri.api.ContainerState;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.PodSandboxMetadata;
import io.berth.cri.api.PodSandboxState;
import io.berth.cri.api.ext.ContainerRecord;
import io.berth.cri.api.ext.SandboxRecord;
import io.berth.metadata.MetadataStore;
import io.berth.network.NetworkConfig;
import io.berth.network.PodNetwork;
import io.berth.oci.RuntimeOptions;
import io.berth.snapshot.Snapshotter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Recovery settles what a crash cut short and sweeps what no record claims, over a real SQLite store, snapshotter
 * and CNI cache in a temp dir and a runtime that only keeps a list of ids (no root, no mounts: the sweep's mounts and
 * real runtimes are covered by CrashRecoveryIT).
 */
class RecoveryTest {
  @TempDir Path tmp;
  MetadataStore store;
  RuntimeState st;
  FakeRuntime runtime = new FakeRuntime();
  Path state;

  @BeforeEach
  void open() {
    state = tmp.resolve("state");
    store = MetadataStore.open(tmp.resolve("root/metadata/berth.db"));
    st = new RuntimeState(new RuntimeState.Settings(tmp.resolve("root"), state, Path.of("/nonexistent"), null, "runc",
        Duration.ofSeconds(5), 0, 0), new MetadataRecords(store), null, Snapshotter.overlay(tmp.resolve("root/snapshots")),
        PodNetwork.create(NetworkConfig.defaults(state)), runtime, new CriMetrics(new PrometheusRegistry()));
  }

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void recover_sandboxStillCreating_keptNotReadyHoldingNothingAndItsLeftoversSwept() throws Exception {
    String id = Ids.newId();
    st.records.put(sandbox(id, "web", "uid-1").setState(PodSandboxState.SANDBOX_NOTREADY_VALUE).setCreating(true)
        .build());
    Path dir = Files.createDirectories(st.sandboxDir(id));
    Files.writeString(dir.resolve("hosts"), "127.0.0.1 localhost\n");
    Path ipcPin = Files.createFile(Files.createDirectories(state.resolve("ns")).resolve(id + "-ipc"));
    Path cni = Files.createDirectories(state.resolve("cni-cache").resolve(id));
    runtime.ids.add(id);

    Recovery.recover(st, new StatusViews(st));

    SandboxRecord r = st.sandboxes.get(id).record();
    assertThat(r.getState()).isEqualTo(PodSandboxState.SANDBOX_NOTREADY_VALUE);
    assertThat(r.getStartLost()).isTrue();
    assertThat(r.getCreating()).isFalse();
    assertThat(st.records.sandboxes()).containsExactly(r);
    assertThat(dir).doesNotExist();
    assertThat(ipcPin).doesNotExist();
    assertThat(cni).doesNotExist();
    assertThat(runtime.deleted).containsExactly(id);
    // the same pod can start again: neither the in-memory index nor the store holds its name any more
    String again = Ids.newId();
    st.sandboxes.reserveName(Sandbox.reservationName(r.getConfig().getMetadata()), again);
    st.records.put(sandbox(again, "web", "uid-1").build());
    assertThat(st.records.sandboxes()).extracting(SandboxRecord::getId).containsExactlyInAnyOrder(id, again);
  }

  @Test
  void recover_containerStillCreating_forgottenAndItsLeftoversSweptButItsPodKept() throws Exception {
    String pod = Ids.newId();
    st.records.put(sandbox(pod, "web", "uid-2").build());
    Files.createDirectories(st.sandboxDir(pod));
    runtime.ids.add(pod);
    String c = Ids.newId();
    st.records.put(container(c, pod, "app").setCreating(true).build());
    Path bundle = Files.createDirectories(st.containerDir(c).resolve("bundle"));
    Files.writeString(bundle.resolve("config.json"), "{}");
    st.snapshotter.prepare(c, List.of());
    runtime.ids.add(c);

    Recovery.recover(st, new StatusViews(st));

    assertThat(st.records.containers()).isEmpty();
    assertThat(st.containers.all()).isEmpty();
    assertThat(st.containerDir(c)).doesNotExist();
    assertThat(st.snapshotter.active()).isEmpty();
    assertThat(runtime.deleted).containsExactly(c);
    assertThat(st.sandboxes.get(pod).ready()).isTrue();
    assertThat(st.sandboxDir(pod)).exists();
    // the container's name is free again
    st.containers.reserveName(Container.reservationName(ContainerMetadata.newBuilder().setName("app").build(),
        st.sandboxes.get(pod).record().getConfig().getMetadata()), Ids.newId());
  }

  @Test
  void recover_removalsCutShort_finishedWithThePodsContainers() throws Exception {
    String removedPod = Ids.newId();
    st.records.put(sandbox(removedPod, "gone", "uid-3").setState(PodSandboxState.SANDBOX_NOTREADY_VALUE)
        .setRemoving(true).build());
    Files.createDirectories(st.sandboxDir(removedPod));
    String removedPodsContainer = Ids.newId();
    st.records.put(container(removedPodsContainer, removedPod, "a").build());
    Files.createDirectories(st.containerDir(removedPodsContainer));
    String pod = Ids.newId();
    st.records.put(sandbox(pod, "stays", "uid-4").build());
    runtime.ids.add(pod);
    String removedContainer = Ids.newId();
    st.records.put(container(removedContainer, pod, "b").setRemoving(true).build());
    Files.createDirectories(st.containerDir(removedContainer));
    String kept = Ids.newId();
    st.records.put(container(kept, pod, "c").build());
    Files.createDirectories(st.containerDir(kept));

    Recovery.recover(st, new StatusViews(st));

    assertThat(st.records.sandboxes()).extracting(SandboxRecord::getId).containsExactly(pod);
    assertThat(st.records.containers()).extracting(ContainerRecord::getId).containsExactly(kept);
    assertThat(st.sandboxes.find(removedPod)).isEmpty();
    assertThat(st.containers.all()).extracting(Container::id).containsExactly(kept);
    assertThat(st.sandboxDir(removedPod)).doesNotExist();
    assertThat(st.containerDir(removedPodsContainer)).doesNotExist();
    assertThat(st.containerDir(removedContainer)).doesNotExist();
    assertThat(st.containerDir(kept)).exists();
    assertThat(runtime.deleted).isEmpty();
  }

  @Test
  void recover_unreadableRecord_setAsideAndWhatItsIdNamesUntouched() throws Exception {
    String bad = Ids.newId();
    store.putSandbox(new io.berth.metadata.SandboxRecord(bad, "bad_ns_uid_0", 
        "{\"id\": 17, not json".getBytes(StandardCharsets.UTF_8)));
    Files.createDirectories(st.sandboxDir(bad));
    Path pin = Files.createFile(Files.createDirectories(state.resolve("ns")).resolve(bad + "-uts"));
    runtime.ids.add(bad);
    String orphan = Ids.newId();
    Files.createDirectories(st.sandboxDir(orphan));

    Recovery.recover(st, new StatusViews(st));

    assertThat(st.sandboxes.find(bad)).isEmpty();
    assertThat(st.sandboxDir(bad)).exists();
    assertThat(pin).exists();
    assertThat(runtime.ids).contains(bad);
    assertThat(st.sandboxDir(orphan)).doesNotExist();
  }

  @Test
  void recover_aLostStartAgain_staysNotReadyWithoutItsName() {
    String id = Ids.newId();
    st.records.put(Recovery.lostStart(sandbox(id, "web", "uid-5").build()));
    String holder = Ids.newId();
    st.records.put(sandbox(holder, "web", "uid-5").build());
    runtime.ids.add(holder);

    Recovery.recover(st, new StatusViews(st));

    assertThat(st.sandboxes.get(id).record().getStartLost()).isTrue();
    assertThat(st.sandboxes.get(holder).ready()).isTrue();
    assertThatThrownBy(() -> st.sandboxes.reserveName(Sandbox.reservationName(
        st.sandboxes.get(holder).record().getConfig().getMetadata()), Ids.newId()))
        .isInstanceOf(BerthException.class).hasMessageContaining(holder);
  }

  private SandboxRecord.Builder sandbox(String id, String name, String uid) {
    return SandboxRecord.newBuilder().setId(id).setRuntimeHandler("runc")
        .setState(PodSandboxState.SANDBOX_READY_VALUE).setInfraLess(false).setStateDir(st.sandboxDir(id).toString())
        .setConfig(PodSandboxConfig.newBuilder().setMetadata(PodSandboxMetadata.newBuilder().setName(name)
            .setNamespace("ns").setUid(uid)));
  }

  private static ContainerRecord.Builder container(String id, String sandboxId, String name) {
    return ContainerRecord.newBuilder().setId(id).setSandboxId(sandboxId).setRuntimeHandler("runc")
        .setState(ContainerState.CONTAINER_EXITED_VALUE)
        .setConfig(ContainerConfig.newBuilder().setMetadata(ContainerMetadata.newBuilder().setName(name)));
  }

  /** A runtime that only knows which ids it has. */
  static final class FakeRuntime implements OciRuntimes, OciRuntimes.Handler {
    final Set<String> ids = new TreeSet<>();
    final List<String> deleted = new ArrayList<>();

    @Override
    public Handler handler(String name) {
      return this;
    }

    @Override
    public List<RuntimeInfo.HandlerInfo> handlers() {
      return List.of(new RuntimeInfo.HandlerInfo("runc", true, "", false, false));
    }

    @Override
    public String name() {
      return "runc";
    }

    @Override
    public RuntimeOptions options() {
      throw new UnsupportedOperationException();
    }

    @Override
    public boolean needsInfra() {
      return false;
    }

    @Override
    public void create(String id, Path bundle, Path logPath, boolean tty, boolean stdin, boolean stdinOnce) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void start(String id) {
      throw new UnsupportedOperationException();
    }

    @Override
    public State state(String id) {
      return new State(ids.contains(id) ? State.Status.RUNNING : State.Status.UNKNOWN, 1, 0, 0, false);
    }

    @Override
    public boolean exitRecorded(String id) {
      return false;
    }

    @Override
    public void stop(String id, int signal, Duration timeout) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void delete(String id) {
      if (ids.remove(id)) {
        deleted.add(id);
      }
    }

    @Override
    public List<String> list() {
      return List.copyOf(ids);
    }

    @Override
    public ExecResult execSync(String id, List<String> cmd, Duration timeout, long maxOutputBytes) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void updateResources(String id, io.berth.cri.api.LinuxContainerResources resources) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void reopenLog(String id) {
      throw new UnsupportedOperationException();
    }

    @Override
    public io.berth.runtime.ExecSession exec(String id, List<String> cmd, boolean tty,
        io.berth.streaming.TerminalSize initialSize) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void attach(String id, InputStream stdin, OutputStream stdout, OutputStream stderr) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void resizeTerminal(String id, int width, int height) {
      throw new UnsupportedOperationException();
    }
  }
}
