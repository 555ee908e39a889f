package io.berth.it;

import static io.berth.it.Cri.awaitExit;
import static io.berth.it.Cri.container;
import static io.berth.it.Cri.createAndStart;
import static io.berth.it.Cri.exec;
import static io.berth.it.Cri.pod;
import static io.berth.it.Cri.runPod;
import static io.berth.it.Cri.status;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.cri.api.ContainerConfig;
import io.berth.cri.api.ContainerState;
import io.berth.cri.api.ExecSyncResponse;
import io.berth.cri.api.IDMapping;
import io.berth.cri.api.LinuxContainerConfig;
import io.berth.cri.api.LinuxContainerSecurityContext;
import io.berth.cri.api.LinuxSandboxSecurityContext;
import io.berth.cri.api.ListPodSandboxRequest;
import io.berth.cri.api.NamespaceMode;
import io.berth.cri.api.NamespaceOption;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.PodSandboxState;
import io.berth.cri.api.PodSandboxStatusRequest;
import io.berth.cri.api.PodSandboxStatusResponse;
import io.berth.cri.api.RemovePodSandboxRequest;
import io.berth.cri.api.RuntimeHandler;
import io.berth.cri.api.StatusRequest;
import io.berth.cri.api.StopPodSandboxRequest;
import io.berth.cri.api.UserNamespace;
import io.berth.testing.BerthdProcess;
import io.berth.testing.LeakCheck;
import io.berth.testing.LocalRegistry;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Pods in their own user namespace (CRI userns_options, mode POD) over the real socket, on runc 1.1 and crun 1.8:
 * the mappings, one namespace for every container of the pod, image files owned by the pod's root, a writable
 * rootfs whose new files the host sees with the mapped ids, refusals that leave nothing behind, and restart
 * recovery. crun needs the test-host step {@code scripts/prepare-test-host.sh}.
 */
class UserNamespacesIT {
  @RegisterExtension
  @Order(1)
  static final LocalRegistry registry = LocalRegistry.builder().build();

  @RegisterExtension
  @Order(2)
  static final BerthdProcess berthd = BerthdProcess.builder().build();

  @RegisterExtension
  final LeakCheck leaks = berthd.leakCheck();

  /** Host ranges as the kubelet allocates them: multiples of 65536, a different one per pod. */
  private static final AtomicLong NEXT_RANGE = new AtomicLong(40);

  static String image;

  @BeforeAll
  static void pullImage() {
    image = Cri.pushAndPull(berthd, registry, "it/userns");
  }

  static IDMapping mapping(long containerId, long hostId, long length) {
    return IDMapping.newBuilder().setContainerId((int) containerId).setHostId((int) hostId).setLength((int) length)
        .build();
  }

  static NamespaceOption userns(long hostId, NamespaceMode pid) {
    return NamespaceOption.newBuilder().setPid(pid).setUsernsOptions(UserNamespace.newBuilder()
        .setMode(NamespaceMode.POD).addUids(mapping(0, hostId, 65536)).addGids(mapping(0, hostId, 65536))).build();
  }

  static PodSandboxConfig.Builder usernsPod(String name, NamespaceOption ns) {
    PodSandboxConfig.Builder p = pod(berthd, name);
    return p.setLinux(p.getLinux().toBuilder().setSecurityContext(LinuxSandboxSecurityContext.newBuilder()
        .setNamespaceOptions(ns)));
  }

  static ContainerConfig.Builder inPod(ContainerConfig.Builder c, NamespaceOption ns) {
    return c.setLinux(LinuxContainerConfig.newBuilder().setSecurityContext(LinuxContainerSecurityContext.newBuilder()
        .setNamespaceOptions(ns)));
  }

  static String out(ExecSyncResponse r) {
    assertThat(r.getExitCode()).as("exit code; stderr: %s", r.getStderr().toStringUtf8()).isZero();
    return r.getStdout().toStringUtf8();
  }

  @ParameterizedTest(name = "{0}, pid {1}")
  @CsvSource({"runc, CONTAINER", "runc, POD", "crun, CONTAINER", "crun, POD"})
  void podUserNamespace_twoContainers_shareTheMappedNamespace(String handler, NamespaceMode pid) throws Exception {
    long host = NEXT_RANGE.getAndIncrement() * 65536;
    NamespaceOption ns = userns(host, pid);
    PodSandboxConfig.Builder pod = usernsPod("userns-" + handler, ns);
    String podId = runPod(berthd, pod, handler);
    String a = createAndStart(berthd, podId, pod, inPod(container("a", image, "sleep", "3600"), ns));
    String b = createAndStart(berthd, podId, pod, inPod(container("b", image, "sleep", "3600"), ns));

    // The mappings, as the kubelet asked for them, for both containers.
    assertThat(out(exec(berthd, a, "cat", "/proc/self/uid_map")).strip().split("\\s+"))
        .containsExactly("0", Long.toString(host), "65536");
    assertThat(out(exec(berthd, b, "cat", "/proc/self/gid_map")).strip().split("\\s+"))
        .containsExactly("0", Long.toString(host), "65536");
    // One user namespace for the pod, not the host's.
    String usernsA = out(exec(berthd, a, "ls", "-l", "/proc/self/ns/user"));
    String usernsB = out(exec(berthd, b, "ls", "-l", "/proc/self/ns/user"));
    String inodeA = usernsA.substring(usernsA.indexOf("user:["));
    assertThat(usernsB).contains(inodeA.strip());
    assertThat(inodeA).doesNotContain(Files.readSymbolicLink(Path.of("/proc/self/ns/user")).toString());
    // The pod's root is root inside, and the image's root-owned files are root's (0640: readable only by root).
    assertThat(out(exec(berthd, a, "id", "-u")).strip()).isEqualTo("0");
    assertThat(out(exec(berthd, a, "ls", "-ln", "/data/marker.txt")).split("\\s+"))
        .contains("0").doesNotContain("65534");
    assertThat(out(exec(berthd, a, "cat", "/data/marker.txt"))).isEqualTo("marker content\n");
    assertThat(out(exec(berthd, a, "hostname")).strip()).isEqualTo("userns-" + handler);
    assertThat(out(exec(berthd, a, "ls", "-ln", "/etc/hosts")).split("\\s+")).contains("0");

    // Its root writes its rootfs; the host sees the new files with the mapped ids in the upper dir.
    out(exec(berthd, a, "sh", "-c", "echo written > /written && mkdir /etc/made && echo x > /etc/made/f"));
    Path upper = berthd.root().resolve("snapshots/active").resolve(a).resolve("upper");
    assertThat(Files.getAttribute(upper.resolve("written"), "unix:uid")).isEqualTo((int) host);
    assertThat(Files.getAttribute(upper.resolve("written"), "unix:gid")).isEqualTo((int) host);
    assertThat(Files.getAttribute(upper.resolve("etc/made/f"), "unix:uid")).isEqualTo((int) host);
    // A copied-up directory keeps its owner as the pod sees it: root, the mapped host id on disk.
    assertThat(Files.getAttribute(upper.resolve("etc"), "unix:uid")).isEqualTo((int) host);

    // Status reports the options; verbose info where the namespace is pinned.
    PodSandboxStatusResponse st = berthd.runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder()
        .setPodSandboxId(podId).setVerbose(true).build());
    assertThat(st.getStatus().getLinux().getNamespaces().getOptions().getUsernsOptions())
        .isEqualTo(ns.getUsernsOptions());
    assertThat(st.getStatus().getNetwork().getIp()).isNotEmpty();
    assertThat(st.getInfoMap().get("info")).contains("\"usernsPath\":\"" + berthd.state().resolve("ns"));

    // A container that exits: the one-shot of critest's spec.
    String once = createAndStart(berthd, podId, pod, inPod(container("once", image, "cat", "/proc/self/uid_map"),
        ns));
    assertThat(awaitExit(berthd, once).getExitCode()).isZero();
    assertThat(String.join("\n", Cri.logLines(status(berthd, once), 1))).containsPattern(
        "\\s+0\\s+" + host + "\\s+65536");

    berthd.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
    berthd.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
    assertThat(mountsUnder(berthd.dir())).noneMatch(m -> m.contains(podId) || m.contains(a) || m.contains(b));
  }

  @ParameterizedTest
  @CsvSource({"runc", "crun"})
  void volumeWithPodMappings_idmappedByBerthd_rootFilesAreThePodRootsBothWays(String handler) throws Exception {
    long host = NEXT_RANGE.getAndIncrement() * 65536;
    NamespaceOption ns = userns(host, NamespaceMode.CONTAINER);
    Path vol = Files.createDirectories(berthd.dir().resolve("vol-" + handler));
    Files.setPosixFilePermissions(vol, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.writeString(vol.resolve("secret"), "root only\n");
    Files.setPosixFilePermissions(vol.resolve("secret"),
        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    Path plain = Files.createDirectories(berthd.dir().resolve("plain-" + handler));
    Files.writeString(plain.resolve("f"), "x");
    try {
      PodSandboxConfig.Builder pod = usernsPod("userns-vol-" + handler, ns);
      String podId = runPod(berthd, pod, handler);
      ContainerConfig.Builder c = inPod(container("c", image, "sleep", "3600"), ns)
          .addMounts(io.berth.cri.api.Mount.newBuilder().setContainerPath("/vol").setHostPath(vol.toString())
              .addUidMappings(mapping(0, host, 65536)).addGidMappings(mapping(0, host, 65536)))
          .addMounts(io.berth.cri.api.Mount.newBuilder().setContainerPath("/plain").setHostPath(plain.toString())
              .setReadonly(true));
      String id = createAndStart(berthd, podId, pod, c);

      assertThat(out(exec(berthd, id, "cat", "/vol/secret"))).isEqualTo("root only\n");
      assertThat(out(exec(berthd, id, "ls", "-ln", "/vol/secret")).split("\\s+")).contains("0");
      out(exec(berthd, id, "sh", "-c", "echo from-pod > /vol/new"));
      // Written by the pod's root through the idmapped mount: the host's root owns it on disk.
      assertThat(Files.getAttribute(vol.resolve("new"), "unix:uid")).isEqualTo(0);
      // Without mappings the host's root is nobody inside.
      assertThat(out(exec(berthd, id, "ls", "-ln", "/plain/f")).split("\\s+")).contains("65534");
      // The staging mount was only needed while the runtime set the container up.
      assertThat(mountsUnder(berthd.state().resolve("containers").resolve(id).resolve("idmapped"))).isEmpty();
      berthd.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
    } finally {
      Files.walk(vol).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      Files.walk(plain).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @ParameterizedTest
  @CsvSource({"runc", "crun"})
  void podSysctls_inUserNamespace_setInNamespacesItOwns(String handler) {
    NamespaceOption ns = userns(NEXT_RANGE.getAndIncrement() * 65536, NamespaceMode.CONTAINER);
    PodSandboxConfig.Builder pod = usernsPod("userns-sysctl-" + handler, ns);
    pod.setLinux(pod.getLinux().toBuilder().putSysctls("net.ipv4.ip_unprivileged_port_start", "0")
        .putSysctls("kernel.shm_rmid_forced", "1"));
    String podId = runPod(berthd, pod, handler);
    String id = createAndStart(berthd, podId, pod, inPod(container("c", image, "sleep", "3600"), ns));
    assertThat(out(exec(berthd, id, "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start")).strip())
        .isEqualTo("0");
    assertThat(out(exec(berthd, id, "cat", "/proc/sys/kernel/shm_rmid_forced")).strip()).isEqualTo("1");
  }

  @Test
  void runPodSandbox_userNamespaceMadeThenRefused_everythingUndone() {
    // Refused by the infra spec, after the user namespace, its pins, the netns and CNI ADD were made.
    PodSandboxConfig.Builder pod = usernsPod("userns-undo", userns(NEXT_RANGE.getAndIncrement() * 65536,
        NamespaceMode.CONTAINER));
    pod.setLinux(pod.getLinux().toBuilder().putSysctls("vm.swappiness", "1"));
    assertThatThrownBy(() -> runPod(berthd, pod, "runc")).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    assertThat(berthd.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList())
        .isEmpty();
    // leaks (after every test): no pin, netns, mount, directory or process left
  }

  static List<String> mountsUnder(Path dir) throws Exception {
    return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().filter(l -> l.contains(dir.toString()))
        .toList();
  }

  @Test
  void runPodSandbox_badUserNamespaceOptions_invalidArgumentAndNothingLeft() {
    List<UserNamespace> bad = List.of(
        UserNamespace.newBuilder().setMode(NamespaceMode.POD).addUids(mapping(0, 1000, 100000))
            .addUids(mapping(0, 2000, 100000)).addGids(mapping(0, 1000, 100000)).build(),
        UserNamespace.newBuilder().setMode(NamespaceMode.POD).addUids(mapping(1, 1000, 100000))
            .addGids(mapping(1, 1000, 100000)).build(),
        UserNamespace.newBuilder().setMode(NamespaceMode.POD).addUids(mapping(0, 0, 65536))
            .addGids(mapping(0, 0, 65536)).build(),
        UserNamespace.newBuilder().setMode(NamespaceMode.POD).addUids(mapping(0, 65536, 0))
            .addGids(mapping(0, 65536, 0)).build(),
        UserNamespace.newBuilder().setMode(NamespaceMode.POD).build(),
        UserNamespace.newBuilder().setMode(NamespaceMode.CONTAINER).build(),
        UserNamespace.newBuilder().setMode(NamespaceMode.TARGET).build());
    for (UserNamespace u : bad) {
      for (String handler : List.of("runc", "crun")) {
        PodSandboxConfig.Builder pod = usernsPod("bad-userns", NamespaceOption.newBuilder().setUsernsOptions(u)
            .build());
        assertThatThrownBy(() -> runPod(berthd, pod, handler)).as("%s on %s", u, handler)
            .isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
      }
    }
    // With a host namespace: refused too (as Kubernetes refuses hostUsers: false with hostNetwork).
    PodSandboxConfig.Builder hostNet = usernsPod("userns-hostnet", userns(65536 * 7, NamespaceMode.CONTAINER)
        .toBuilder().setNetwork(NamespaceMode.NODE).build());
    assertThatThrownBy(() -> runPod(berthd, hostNet, "runc")).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    // The name was never reserved: the same pod runs right after with good options.
    PodSandboxConfig.Builder good = usernsPod("bad-userns", userns(NEXT_RANGE.getAndIncrement() * 65536,
        NamespaceMode.CONTAINER));
    String podId = runPod(berthd, good, "runc");
    assertThat(berthd.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList())
        .extracting(p -> p.getId()).containsExactly(podId);
  }

  @Test
  void createContainer_userNamespaceOptionsDifferFromPod_invalidArgument() {
    NamespaceOption ns = userns(NEXT_RANGE.getAndIncrement() * 65536, NamespaceMode.CONTAINER);
    PodSandboxConfig.Builder pod = usernsPod("userns-mismatch", ns);
    String podId = runPod(berthd, pod, "runc");
    for (ContainerConfig.Builder c : List.of(container("none", image, "true"),
        inPod(container("other", image, "true"), userns(65536 * 3, NamespaceMode.CONTAINER)))) {
      assertThatThrownBy(() -> Cri.create(berthd, podId, pod, c)).isInstanceOfSatisfying(
          StatusRuntimeException.class,
          e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    }
    // A user the namespace does not map
    ContainerConfig.Builder unmapped = inPod(container("unmapped", image, "true"), ns);
    unmapped.setLinux(unmapped.getLinux().toBuilder().setSecurityContext(unmapped.getLinux().getSecurityContext()
        .toBuilder().setRunAsUser(io.berth.cri.api.Int64Value.newBuilder().setValue(70000))));
    assertThatThrownBy(() -> Cri.create(berthd, podId, pod, unmapped)).isInstanceOfSatisfying(
        StatusRuntimeException.class, e -> assertThat(e.getStatus().getDescription()).contains("not mapped"));
  }

  @Test
  void status_handlers_claimUserNamespacesOnlyWhereTheyWork() {
    Map<String, Boolean> claims = berthd.runtime().status(StatusRequest.newBuilder().setVerbose(true).build())
        .getRuntimeHandlersList().stream()
        .collect(Collectors.toMap(RuntimeHandler::getName, h -> h.getFeatures().getUserNamespaces(), (x, y) -> x));
    assertThat(claims).containsEntry("runc", true).containsEntry("crun", true).containsEntry("", true);
    assertThat(claims.getOrDefault("runsc", false)).isFalse();
    PodSandboxConfig.Builder pod = usernsPod("userns-runsc", userns(65536 * 5, NamespaceMode.CONTAINER));
    assertThatThrownBy(() -> runPod(berthd, pod, "runsc")).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
  }

  @Test
  void restart_afterSigkill_podUserNamespaceFoundAgain() throws Exception {
    NamespaceOption ns = userns(NEXT_RANGE.getAndIncrement() * 65536, NamespaceMode.CONTAINER);
    PodSandboxConfig.Builder pod = usernsPod("userns-restart", ns);
    String podId = runPod(berthd, pod, "runc");
    String before = createAndStart(berthd, podId, pod, inPod(container("before", image, "sleep", "3600"), ns));
    String userns = out(exec(berthd, before, "ls", "-l", "/proc/self/ns/user"));

    berthd.kill();
    berthd.start();

    assertThat(berthd.runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder().setPodSandboxId(podId)
        .build()).getStatus().getState()).isEqualTo(PodSandboxState.SANDBOX_READY);
    assertThat(status(berthd, before).getState()).isEqualTo(ContainerState.CONTAINER_RUNNING);
    String after = createAndStart(berthd, podId, pod, inPod(container("after", image, "sleep", "3600"), ns));
    assertThat(out(exec(berthd, after, "ls", "-l", "/proc/self/ns/user")))
        .contains(userns.substring(userns.indexOf("user:[")).strip());
    // leaks (after every test) checks that removing the pod leaves no pin, mount or directory
  }
}
