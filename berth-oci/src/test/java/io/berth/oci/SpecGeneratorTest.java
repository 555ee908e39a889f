package io.berth.oci;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.berth.core.BerthException;
import io.berth.core.ErrorKind;
import io.berth.cri.api.Capability;
import io.berth.cri.api.ContainerConfig;
import io.berth.cri.api.ContainerMetadata;
import io.berth.cri.api.Device;
import io.berth.cri.api.HugepageLimit;
import io.berth.cri.api.Int64Value;
import io.berth.cri.api.KeyValue;
import io.berth.cri.api.LinuxContainerConfig;
import io.berth.cri.api.LinuxContainerResources;
import io.berth.cri.api.LinuxContainerSecurityContext;
import io.berth.cri.api.LinuxPodSandboxConfig;
import io.berth.cri.api.LinuxSandboxSecurityContext;
import io.berth.cri.api.Mount;
import io.berth.cri.api.MountPropagation;
import io.berth.cri.api.NamespaceMode;
import io.berth.cri.api.NamespaceOption;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.PodSandboxMetadata;
import io.berth.cri.api.SecurityProfile;
import io.berth.cri.api.SupplementalGroupsPolicy;
import io.berth.cri.api.UserNamespace;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpecGeneratorTest {
  @TempDir Path rootfs;
  @TempDir Path outside;
  FakeHost host = new FakeHost();
  SpecGenerator gen = new SpecGenerator(host);

  @BeforeEach
  void image() throws IOException {
    Files.createDirectories(rootfs.resolve("etc"));
    Files.writeString(rootfs.resolve("etc/passwd"), """
        root:x:0:0:root:/root:/bin/sh
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
        app:x:1000:50000:app:/home/app:/bin/sh
        huge:x:4294967296:0::/:/bin/sh
        """);
    Files.writeString(rootfs.resolve("etc/group"), """
        root:x:0:
        daemon:x:1:
        wheel:x:10:root,app
        app:x:50000:app
        extra:x:60000:app,daemon
        staff:x:70000:
        """);
  }

  // -------------------------------------------------------------------------------- helpers

  static PodSandboxConfig pod(Consumer<LinuxSandboxSecurityContext.Builder> sc) {
    LinuxSandboxSecurityContext.Builder b = LinuxSandboxSecurityContext.newBuilder();
    sc.accept(b);
    return PodSandboxConfig.newBuilder()
        .setMetadata(PodSandboxMetadata.newBuilder().setName("web").setNamespace("default").setUid("uid-1"))
        .setHostname("web-0").setLogDirectory("/var/log/pods/x")
        .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent("/kubepods/pod1").setSecurityContext(b))
        .build();
  }

  static ContainerConfig.Builder container() {
    return ContainerConfig.newBuilder().setMetadata(ContainerMetadata.newBuilder().setName("app"))
        .addCommand("/bin/sh");
  }

  static ContainerConfig.Builder withSc(ContainerConfig.Builder c, Consumer<LinuxContainerSecurityContext.Builder> f) {
    LinuxContainerSecurityContext.Builder sc = c.getLinux().getSecurityContext().toBuilder();
    f.accept(sc);
    return c.setLinux(c.getLinux().toBuilder().setSecurityContext(sc));
  }

  static ContainerConfig.Builder withRes(ContainerConfig.Builder c, Consumer<LinuxContainerResources.Builder> f) {
    LinuxContainerResources.Builder r = c.getLinux().getResources().toBuilder();
    f.accept(r);
    return c.setLinux(c.getLinux().toBuilder().setResources(r));
  }

  SandboxInfo sandbox(PodSandboxConfig pod) {
    return new SandboxInfo("sb1", pod, 4242, Path.of("/run/berth/netns/sb1"), Path.of("/run/berth/sb1/hostname"),
        Path.of("/run/berth/sb1/hosts"), Path.of("/run/berth/sb1/resolv.conf"), Path.of("/run/berth/sb1/shm"));
  }

  RuntimeSpec spec(ContainerConfig.Builder c) {
    return spec(c, pod(b -> { }), ImageConfigView.empty(), RuntimeOptions.defaults("runc"));
  }

  RuntimeSpec spec(ContainerConfig.Builder c, PodSandboxConfig pod, ImageConfigView image, RuntimeOptions opts) {
    return gen.containerSpec(new ContainerRequest("c1", c.build(), sandbox(pod), image, "docker.io/library/app:1",
        rootfs, opts, 0));
  }

  static ImageConfigView image(String user, List<String> env, List<String> entrypoint, List<String> cmd, String wd) {
    return new ImageConfigView(user, env, entrypoint, cmd, wd, List.of(), "", Map.of());
  }

  static void invalid(ThrowingCallable c, String message) {
    assertThatThrownBy(c).isInstanceOf(BerthException.class).hasMessageContaining(message)
        .satisfies(e -> assertThat(((BerthException) e).kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT));
  }

  static RuntimeSpec.Mount mount(RuntimeSpec s, String dst) {
    return s.mounts().stream().filter(m -> m.destination().equals(dst)).findFirst().orElseThrow();
  }

  // -------------------------------------------------------------------------------- args, env, cwd

  @Test
  void processArgs_commandSet_replacesEntrypointAndDropsImageCmd() {
    ImageConfigView img = image("", List.of(), List.of("/entry"), List.of("cmd1"), "");
    ContainerConfig c = ContainerConfig.newBuilder().addCommand("/bin/echo").addArgs("hi").build();
    assertThat(SpecGenerator.processArgs(c, img)).containsExactly("/bin/echo", "hi");
    ContainerConfig noArgs = ContainerConfig.newBuilder().addCommand("/bin/echo").build();
    assertThat(SpecGenerator.processArgs(noArgs, img)).containsExactly("/bin/echo");
  }

  @Test
  void processArgs_argsOnly_replaceImageCmdKeepEntrypoint() {
    ImageConfigView img = image("", List.of(), List.of("/entry", "-x"), List.of("cmd1"), "");
    ContainerConfig c = ContainerConfig.newBuilder().addArgs("a").addArgs("b").build();
    assertThat(SpecGenerator.processArgs(c, img)).containsExactly("/entry", "-x", "a", "b");
  }

  @Test
  void processArgs_nothingInConfig_usesEntrypointAndCmd() {
    ImageConfigView img = image("", List.of(), List.of("/entry"), List.of("cmd1", "cmd2"), "");
    assertThat(SpecGenerator.processArgs(ContainerConfig.getDefaultInstance(), img))
        .containsExactly("/entry", "cmd1", "cmd2");
    ImageConfigView emptyEntry = image("", List.of(), List.of(""), List.of("/bin/sh"), "");
    assertThat(SpecGenerator.processArgs(ContainerConfig.getDefaultInstance(), emptyEntry))
        .containsExactly("/bin/sh");
  }

  @Test
  void processArgs_noCommandAnywhere_isInvalid() {
    invalid(() -> SpecGenerator.processArgs(ContainerConfig.getDefaultInstance(), ImageConfigView.empty()),
        "no command");
  }

  @Test
  void env_imageThenCri_criOverridesByKeyKeepingOrder() {
    ContainerConfig.Builder c = container()
        .addEnvs(KeyValue.newBuilder().setKey("B").setValue(ByteString.copyFromUtf8("cri")))
        .addEnvs(KeyValue.newBuilder().setKey("D").setValue(ByteString.copyFromUtf8("x=y")));
    RuntimeSpec s = spec(c, pod(b -> { }), image("", List.of("A=1", "B=img", "PATH=/img"), List.of(), List.of(), ""),
        RuntimeOptions.defaults("runc"));
    assertThat(s.process().env()).containsExactly("PATH=/img", "HOSTNAME=web-0", "A=1", "B=cri", "D=x=y");
  }

  @Test
  void env_noImagePath_getsDefaultPath() {
    assertThat(spec(container()).process().env()).contains(SpecGenerator.DEFAULT_PATH);
  }

  @Test
  void env_keyWithEquals_isInvalid() {
    ContainerConfig.Builder c = container()
        .addEnvs(KeyValue.newBuilder().setKey("A=B").setValue(ByteString.copyFromUtf8("v")));
    invalid(() -> spec(c), "environment");
  }

  @Test
  void workingDir_criOverImage_defaultRoot_relativeRefused() {
    ImageConfigView img = image("", List.of(), List.of(), List.of(), "/img");
    RuntimeOptions o = RuntimeOptions.defaults("runc");
    assertThat(spec(container(), pod(b -> { }), img, o).process().cwd()).isEqualTo("/img");
    assertThat(spec(container().setWorkingDir("/cri"), pod(b -> { }), img, o).process().cwd()).isEqualTo("/cri");
    assertThat(spec(container()).process().cwd()).isEqualTo("/");
    invalid(() -> spec(container().setWorkingDir("rel")), "not absolute");
  }

  // -------------------------------------------------------------------------------- user

  RuntimeSpec.User userOf(ContainerConfig.Builder c, String imageUser) {
    return spec(c, pod(b -> { }), image(imageUser, List.of(), List.of(), List.of(), ""),
        RuntimeOptions.defaults("runc")).process().user();
  }

  @Test
  void user_none_isRootWithRootsGroups() {
    RuntimeSpec.User u = userOf(container(), "");
    assertThat(u.uid()).isZero();
    assertThat(u.gid()).isZero();
    assertThat(u.additionalGids()).containsExactly(0L, 10L);
  }

  @Test
  void user_imageName_resolvedFromPasswdWithMemberGroups() {
    RuntimeSpec.User u = userOf(container(), "app");
    assertThat(u.uid()).isEqualTo(1000);
    assertThat(u.gid()).isEqualTo(50000);
    assertThat(u.additionalGids()).containsExactly(10L, 50000L, 60000L);
  }

  @Test
  void user_givenUserFiles_resolvedFromThemWithoutReadingTheRootfs() throws Exception {
    UserFiles files = UserFiles.read(rootfs);
    RuntimeSpec fromRootfs = spec(container(), pod(b -> { }), image("app", List.of(), List.of(), List.of(), ""),
        RuntimeOptions.defaults("runc"));
    RuntimeSpec fromFiles = gen.containerSpec(new ContainerRequest("c1", container().build(), sandbox(pod(b -> { })),
        image("app", List.of(), List.of(), List.of(), ""), "docker.io/library/app:1", outside.resolve("not-mounted"),
        RuntimeOptions.defaults("runc"), 0, Map.of(), files));

    assertThat(fromFiles.process().user()).isEqualTo(fromRootfs.process().user())
        .isEqualTo(new RuntimeSpec.User(1000, 50000, List.of(10L, 50000L, 60000L)));
    assertThat(fromFiles.root().path()).isEqualTo(outside.resolve("not-mounted").toString());
    invalid(() -> gen.containerSpec(new ContainerRequest("c1", container().build(), sandbox(pod(b -> { })),
        image("app", List.of(), List.of(), List.of(), ""), "docker.io/library/app:1", rootfs,
        RuntimeOptions.defaults("runc"), 0, Map.of(), new UserFiles(Optional.empty(), Optional.empty()))),
        "not found");
  }

  @Test
  void user_imageNameAndGroupName_resolved() {
    RuntimeSpec.User u = userOf(container(), "app:staff");
    assertThat(u.uid()).isEqualTo(1000);
    assertThat(u.gid()).isEqualTo(70000);
  }

  @Test
  void user_imageUidGid_numericNeedsNoPasswd() {
    RuntimeSpec.User u = userOf(container(), "1234:5678");
    assertThat(u.uid()).isEqualTo(1234);
    assertThat(u.gid()).isEqualTo(5678);
    assertThat(u.additionalGids()).containsExactly(5678L);
  }

  @Test
  void user_imageUidKnown_takesPrimaryGroupFromPasswd() {
    assertThat(userOf(container(), "1").gid()).isEqualTo(1);
    assertThat(userOf(container(), "777").gid()).isZero();
  }

  @Test
  void user_unknownName_isInvalid() {
    invalid(() -> userOf(container(), "nobody"), "not found");
    invalid(() -> userOf(container(), "app:nogroup"), "not found");
  }

  @Test
  void user_runAsUserAndGroup_overrideImage() {
    ContainerConfig.Builder c = withSc(container(), sc -> sc.setRunAsUser(Int64Value.newBuilder().setValue(1000))
        .setRunAsGroup(Int64Value.newBuilder().setValue(3000)));
    RuntimeSpec.User u = userOf(c, "daemon");
    assertThat(u.uid()).isEqualTo(1000);
    assertThat(u.gid()).isEqualTo(3000);
    assertThat(u.additionalGids()).containsExactly(10L, 3000L, 60000L);
  }

  @Test
  void user_runAsGroupWithoutUser_isInvalid() {
    invalid(() -> userOf(withSc(container(), sc -> sc.setRunAsGroup(Int64Value.newBuilder().setValue(1002))), "daemon"),
        "without RunAsUser");
    RuntimeSpec.User u = userOf(withSc(container(), sc -> sc.setRunAsUsername("daemon")
        .setRunAsGroup(Int64Value.newBuilder().setValue(3000))), "");
    assertThat(u.gid()).isEqualTo(3000);
  }

  @Test
  void user_runAsUsername_resolved() {
    RuntimeSpec.User u = userOf(withSc(container(), sc -> sc.setRunAsUsername("daemon")), "");
    assertThat(u.uid()).isEqualTo(1);
    assertThat(u.additionalGids()).containsExactly(1L, 60000L);
  }

  @Test
  void user_idsBeyondInt32_refusedNotWrappedToRoot() {
    // CVE-2024-40635: 4294967296 would wrap to uid 0.
    invalid(() -> userOf(container(), "4294967296"), "out of range");
    invalid(() -> userOf(container(), "2147483648"), "out of range");
    invalid(() -> userOf(container(), "0:4294967296"), "out of range");
    invalid(() -> userOf(container(), "99999999999999999999999"), "out of range");
    invalid(() -> userOf(container(), "-1"), "out of range");
    invalid(() -> userOf(withSc(container(), sc -> sc.setRunAsUser(Int64Value.newBuilder().setValue(1L << 31))), ""),
        "out of range");
    invalid(() -> userOf(withSc(container(), sc -> sc.setRunAsUser(Int64Value.newBuilder().setValue(0))
        .setRunAsGroup(Int64Value.newBuilder().setValue(1L << 32))), ""), "out of range");
    invalid(() -> userOf(withSc(container(), sc -> sc.addSupplementalGroups(1L << 32)), ""), "out of range");
    assertThat(userOf(container(), "2147483647").uid()).isEqualTo(2147483647L);
  }

  @Test
  void user_passwdEntryBeyondInt32_neverMatches() {
    invalid(() -> userOf(container(), "huge"), "not found");
  }

  @Test
  void supplementalGroups_merge_addsImageMembershipAndRequested() {
    ContainerConfig.Builder c = withSc(container(), sc -> sc.addSupplementalGroups(123));
    assertThat(userOf(c, "app").additionalGids()).containsExactly(10L, 123L, 50000L, 60000L);
  }

  @Test
  void supplementalGroups_strict_onlyPrimaryAndRequested() {
    ContainerConfig.Builder c = withSc(container(), sc -> sc.addSupplementalGroups(123)
        .setSupplementalGroupsPolicy(SupplementalGroupsPolicy.Strict));
    assertThat(userOf(c, "app").additionalGids()).containsExactly(123L, 50000L);
  }

  @Test
  void user_passwdSymlinkedOutsideRootfs_readInsideRootfs() throws IOException {
    Files.writeString(outside.resolve("passwd"), "evil:x:0:0::/:/bin/sh\n");
    Path etc = rootfs.resolve("etc");
    Files.delete(etc.resolve("passwd"));
    Files.createSymbolicLink(etc.resolve("passwd"), outside.resolve("passwd"));
    // The absolute link target is taken relative to the rootfs, where it does not exist.
    invalid(() -> userOf(container(), "evil"), "not found");
    Files.delete(etc.resolve("passwd"));
    Files.createSymbolicLink(etc.resolve("passwd"), Path.of("../../../../../../../../" + outside + "/passwd"));
    invalid(() -> userOf(container(), "evil"), "not found");
  }

  @Test
  void rootfsFiles_resolve_staysInsideRoot() throws IOException {
    Files.createDirectories(rootfs.resolve("a"));
    Files.createSymbolicLink(rootfs.resolve("a/up"), Path.of("../../../.."));
    Files.createSymbolicLink(rootfs.resolve("a/abs"), Path.of("/etc"));
    assertThat(RootfsFiles.resolve(rootfs, "/a/up/etc/passwd")).isEqualTo(rootfs.resolve("etc/passwd"));
    assertThat(RootfsFiles.resolve(rootfs, "/a/abs/group")).isEqualTo(rootfs.resolve("etc/group"));
    Files.createSymbolicLink(rootfs.resolve("loop"), Path.of("/loop"));
    invalid(() -> RootfsFiles.resolve(rootfs, "/loop/x"), "too many symlinks");
  }

  // -------------------------------------------------------------------------------- capabilities

  @Test
  void capabilities_default_areContainerdFourteenInheritableAndAmbientEmpty() {
    RuntimeSpec.Capabilities c = spec(container()).process().capabilities();
    assertThat(c.bounding()).containsExactlyInAnyOrder("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
        "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE");
    assertThat(c.effective()).isEqualTo(c.bounding());
    assertThat(c.permitted()).isEqualTo(c.bounding());
    assertThat(c.inheritable()).isEmpty();
    assertThat(c.ambient()).isEmpty();
    assertThat(spec(container()).toJson()).contains("\"inheritable\" : [ ]");
  }

  RuntimeSpec.Capabilities caps(List<String> add, List<String> drop) {
    return spec(withSc(container(), sc -> sc.setCapabilities(Capability.newBuilder().addAllAddCapabilities(add)
        .addAllDropCapabilities(drop)))).process().capabilities();
  }

  @Test
  void capabilities_addAndDrop_applied() {
    RuntimeSpec.Capabilities c = caps(List.of("NET_ADMIN", "sys_time"), List.of("CAP_CHOWN", "kill"));
    assertThat(c.bounding()).contains("CAP_NET_ADMIN", "CAP_SYS_TIME").doesNotContain("CAP_CHOWN", "CAP_KILL");
    assertThat(c.inheritable()).isEmpty();
  }

  @Test
  void capabilities_dropAllAddOne_onlyThatOne() {
    assertThat(caps(List.of("NET_BIND_SERVICE"), List.of("ALL")).effective()).containsExactly("CAP_NET_BIND_SERVICE");
  }

  @Test
  void capabilities_addAllDropOne_allCurrentButThat() {
    RuntimeSpec.Capabilities c = caps(List.of("ALL"), List.of("CHOWN"));
    assertThat(c.bounding()).hasSize(host.caps.size() - 1).doesNotContain("CAP_CHOWN", "CAP_SYS_RESOURCE");
  }

  @Test
  void capabilities_unknown_isInvalid() {
    invalid(() -> caps(List.of("NOT_A_CAP"), List.of()), "unknown capability");
  }

  @Test
  void ambientCapabilities_refused() {
    invalid(() -> spec(withSc(container(), sc -> sc.setCapabilities(
        Capability.newBuilder().addAddAmbientCapabilities("NET_RAW")))), "ambient");
  }

  // -------------------------------------------------------------------------------- privileged

  @Test
  void privileged_inPrivilegedPod_allCapsDevicesNoMasksRwSysfsNoSeccomp() {
    host.devices.put("/dev/fuse", new RuntimeSpec.Device("/dev/fuse", "c", 10, 229, 0666, 0L, 0L));
    RuntimeSpec s = spec(withSc(container(), sc -> sc.setPrivileged(true)
            .setSeccomp(SecurityProfile.newBuilder().setProfileType(SecurityProfile.ProfileType.RuntimeDefault))),
        pod(b -> b.setPrivileged(true)), ImageConfigView.empty(), RuntimeOptions.defaults("runc"));
    assertThat(s.process().capabilities().bounding()).isEqualTo(host.caps);
    assertThat(s.process().capabilities().inheritable()).isEmpty();
    assertThat(s.linux().maskedPaths()).isEmpty();
    assertThat(s.linux().readonlyPaths()).isEmpty();
    assertThat(mount(s, "/sys").options()).contains("rw").doesNotContain("ro");
    assertThat(mount(s, "/sys/fs/cgroup").options()).contains("rw");
    assertThat(s.linux().devices()).extracting(RuntimeSpec.Device::path).contains("/dev/fuse");
    assertThat(s.linux().resources().devices()).contains(new RuntimeSpec.DeviceCgroup(true, null, null, null, "rwm"));
    assertThat(s.linux().seccomp()).isNull();
  }

  @Test
  void privileged_inUnprivilegedPod_isInvalid() {
    invalid(() -> spec(withSc(container(), sc -> sc.setPrivileged(true))), "no privileged container");
  }

  // -------------------------------------------------------------------------------- masked paths, rootfs

  @Test
  void maskedAndReadonlyPaths_default_containerdLists() {
    RuntimeSpec s = spec(container());
    assertThat(s.linux().maskedPaths()).containsExactly("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
        "/sys/devices/virtual/powercap", "/proc/scsi");
    assertThat(s.linux().readonlyPaths()).containsExactly("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
        "/proc/sysrq-trigger");
  }

  @Test
  void maskedAndReadonlyPaths_fromCri_replaceDefaults() {
    RuntimeSpec s = spec(withSc(container(), sc -> sc.addMaskedPaths("/proc/x").addReadonlyPaths("/proc/y")));
    assertThat(s.linux().maskedPaths()).containsExactly("/proc/x");
    assertThat(s.linux().readonlyPaths()).containsExactly("/proc/y");
  }

  @Test
  void readonlyRootfsAndNoNewPrivs_followSecurityContext() {
    RuntimeSpec plain = spec(container());
    assertThat(plain.root().readonly()).isFalse();
    assertThat(plain.process().noNewPrivileges()).isFalse();
    assertThat(plain.root().path()).isEqualTo(rootfs.toString());
    RuntimeSpec s = spec(withSc(container(), sc -> sc.setReadonlyRootfs(true).setNoNewPrivs(true)));
    assertThat(s.root().readonly()).isTrue();
    assertThat(s.process().noNewPrivileges()).isTrue();
    assertThat(mount(s, "/etc/hosts").options()).contains("ro");
  }

  // -------------------------------------------------------------------------------- mounts

  @Test
  void mounts_default_procDevPtsShmMqueueSysCgroupAndPodFiles() {
    RuntimeSpec s = spec(container());
    assertThat(s.mounts()).extracting(RuntimeSpec.Mount::destination).containsExactly("/proc", "/dev", "/dev/pts",
        "/dev/mqueue", "/sys", "/sys/fs/cgroup", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf", "/dev/shm");
    assertThat(mount(s, "/sys").options()).contains("ro");
    assertThat(mount(s, "/sys/fs/cgroup").options()).contains("ro");
    assertThat(mount(s, "/dev/shm").source()).isEqualTo("/run/berth/sb1/shm");
    assertThat(mount(s, "/etc/resolv.conf").options()).containsExactly("rbind", "rprivate", "rw");
  }

  @Test
  void mounts_noPodShm_privateTmpfs() {
    SandboxInfo sb = new SandboxInfo("sb1", pod(b -> { }), 4242, null, null, null, null, null);
    RuntimeSpec s = gen.containerSpec(new ContainerRequest("c1", container().build(), sb, ImageConfigView.empty(),
        "img", rootfs, RuntimeOptions.defaults("runc"), 0));
    assertThat(mount(s, "/dev/shm").type()).isEqualTo("tmpfs");
  }

  @Test
  void mounts_hostIpc_bindsHostShm() {
    RuntimeSpec s = spec(container(), pod(b -> b.setNamespaceOptions(NamespaceOption.newBuilder()
        .setIpc(NamespaceMode.NODE))), ImageConfigView.empty(), RuntimeOptions.defaults("runc"));
    assertThat(mount(s, "/dev/shm").source()).isEqualTo("/dev/shm");
    assertThat(s.linux().namespaces()).extracting(RuntimeSpec.Namespace::type).doesNotContain("ipc");
  }

  @Test
  void mounts_criBind_readonlyAndPropagation() {
    ContainerConfig.Builder c = container()
        .addMounts(Mount.newBuilder().setContainerPath("/data").setHostPath("/srv/data").setReadonly(true))
        .addMounts(Mount.newBuilder().setContainerPath("/slave").setHostPath("/srv/s")
            .setPropagation(MountPropagation.PROPAGATION_HOST_TO_CONTAINER));
    RuntimeSpec s = spec(c);
    assertThat(mount(s, "/data")).isEqualTo(new RuntimeSpec.Mount("/data", "bind", "/srv/data",
        List.of("rbind", "rprivate", "ro")));
    assertThat(mount(s, "/slave").options()).containsExactly("rbind", "rslave", "rw");
    assertThat(s.linux().rootfsPropagation()).isEqualTo("rslave");
    ContainerConfig.Builder shared = container().addMounts(Mount.newBuilder().setContainerPath("/sh")
        .setHostPath("/srv/sh").setPropagation(MountPropagation.PROPAGATION_BIDIRECTIONAL));
    RuntimeSpec s2 = spec(shared);
    assertThat(mount(s2, "/sh").options()).contains("rshared");
    assertThat(s2.linux().rootfsPropagation()).isEqualTo("rshared");
  }

  @Test
  void mounts_recursiveReadOnly_rroWhenSupportedElseInvalid() {
    ContainerConfig.Builder c = container().addMounts(Mount.newBuilder().setContainerPath("/r").setHostPath("/srv/r")
        .setReadonly(true).setRecursiveReadOnly(true));
    assertThat(mount(spec(c), "/r").options()).containsExactly("rbind", "rprivate", "rro");
    RuntimeOptions noRro = new RuntimeOptions("crun", "cgroupfs", false, false, false, true, true, 0, false);
    invalid(() -> spec(c, pod(b -> { }), ImageConfigView.empty(), noRro), "recursive read-only");
    ContainerConfig.Builder rw = container().addMounts(Mount.newBuilder().setContainerPath("/r").setHostPath("/srv/r")
        .setRecursiveReadOnly(true));
    invalid(() -> spec(rw), "conflicts with RW");
    ContainerConfig.Builder slave = container().addMounts(Mount.newBuilder().setContainerPath("/r")
        .setHostPath("/srv/r").setReadonly(true).setRecursiveReadOnly(true)
        .setPropagation(MountPropagation.PROPAGATION_HOST_TO_CONTAINER));
    invalid(() -> spec(slave), "private propagation");
  }

  @Test
  void mounts_criOverridesPodFileAndDefault() {
    ContainerConfig.Builder c = container()
        .addMounts(Mount.newBuilder().setContainerPath("/etc/hosts").setHostPath("/kubelet/hosts"))
        .addMounts(Mount.newBuilder().setContainerPath("/dev").setHostPath("/dev"));
    RuntimeSpec s = spec(c);
    assertThat(s.mounts()).filteredOn(m -> m.destination().equals("/etc/hosts")).singleElement()
        .extracting(RuntimeSpec.Mount::source).isEqualTo("/kubelet/hosts");
    assertThat(s.mounts()).extracting(RuntimeSpec.Mount::destination)
        .doesNotContain("/dev/pts", "/dev/mqueue").containsOnlyOnce("/dev");
  }

  @Test
  void mounts_sortedByDepth_parentsFirst() {
    ContainerConfig.Builder c = container()
        .addMounts(Mount.newBuilder().setContainerPath("/a/b/c").setHostPath("/x"))
        .addMounts(Mount.newBuilder().setContainerPath("/a").setHostPath("/y"));
    List<String> dst = spec(c).mounts().stream().map(RuntimeSpec.Mount::destination).toList();
    assertThat(dst.indexOf("/a")).isLessThan(dst.indexOf("/a/b/c"));
  }

  @Test
  void mounts_badPaths_areInvalid() {
    invalid(() -> spec(container().addMounts(Mount.newBuilder().setContainerPath("/a/../../etc").setHostPath("/x"))),
        "invalid container path");
    invalid(() -> spec(container().addMounts(Mount.newBuilder().setContainerPath("rel").setHostPath("/x"))),
        "invalid container path");
    invalid(() -> spec(container().addMounts(Mount.newBuilder().setContainerPath("/a").setHostPath("x"))),
        "must be absolute");
  }

  @Test
  void imageVolumes_escaping_areInvalid_plainOnesSkipped() {
    ImageConfigView ok = new ImageConfigView("", List.of(), List.of(), List.of("/bin/sh"), "", List.of("/data"), "",
        Map.of());
    RuntimeSpec s = spec(ContainerConfig.newBuilder(), pod(b -> { }), ok, RuntimeOptions.defaults("runc"));
    assertThat(s.mounts()).extracting(RuntimeSpec.Mount::destination).doesNotContain("/data");
    for (String bad : List.of("/../../../etc", "relative", "/a/../..")) {
      ImageConfigView img = new ImageConfigView("", List.of(), List.of(), List.of("/bin/sh"), "", List.of(bad), "",
          Map.of());
      invalid(() -> spec(ContainerConfig.newBuilder(), pod(b -> { }), img, RuntimeOptions.defaults("runc")),
          "invalid image volume");
    }
  }

  // -------------------------------------------------------------------------------- devices

  @Test
  void devices_criDevice_nodeAndCgroupRule() {
    host.devices.put("/dev/fuse", new RuntimeSpec.Device("/dev/fuse", "c", 10, 229, 0666, 0L, 0L));
    RuntimeSpec s = spec(container().addDevices(Device.newBuilder().setHostPath("/dev/fuse")
        .setContainerPath("/dev/myfuse").setPermissions("rw")));
    assertThat(s.linux().devices()).containsExactly(new RuntimeSpec.Device("/dev/myfuse", "c", 10, 229, 0666, 0L, 0L));
    assertThat(s.linux().resources().devices()).containsExactly(
        new RuntimeSpec.DeviceCgroup(false, null, null, null, "rwm"),
        new RuntimeSpec.DeviceCgroup(true, "c", 10L, 229L, "rw"));
  }

  @Test
  void devices_badPermissionsOrNotADevice_areInvalid() {
    host.devices.put("/dev/fuse", new RuntimeSpec.Device("/dev/fuse", "c", 10, 229, 0666, 0L, 0L));
    invalid(() -> spec(container().addDevices(Device.newBuilder().setHostPath("/dev/fuse").setPermissions("rwx"))),
        "permissions");
    invalid(() -> spec(container().addDevices(Device.newBuilder().setHostPath("/etc/passwd"))), "not a device");
  }

  @Test
  void devices_default_denyAllRule() {
    RuntimeSpec s = spec(container());
    assertThat(s.linux().devices()).isNull();
    assertThat(s.linux().resources().devices()).containsExactly(
        new RuntimeSpec.DeviceCgroup(false, null, null, null, "rwm"));
  }

  // -------------------------------------------------------------------------------- seccomp

  RuntimeSpec.Seccomp seccompOf(SecurityProfile.ProfileType type, String ref, List<String> addCaps) {
    return spec(withSc(container(), sc -> sc.setSeccomp(SecurityProfile.newBuilder().setProfileType(type)
        .setLocalhostRef(ref)).setCapabilities(Capability.newBuilder().addAllAddCapabilities(addCaps))))
        .linux().seccomp();
  }

  static List<String> allowed(RuntimeSpec.Seccomp s) {
    return s.syscalls().stream().filter(r -> r.action().equals("SCMP_ACT_ALLOW") && r.args() == null)
        .flatMap(r -> r.names().stream()).toList();
  }

  @Test
  void seccomp_runtimeDefault_dockerAllowlistWithoutAdminSyscalls() {
    RuntimeSpec.Seccomp s = seccompOf(SecurityProfile.ProfileType.RuntimeDefault, "", List.of());
    assertThat(s.defaultAction()).isEqualTo("SCMP_ACT_ERRNO");
    assertThat(s.architectures()).containsExactly("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32");
    assertThat(allowed(s)).contains("read", "write", "execve", "arch_prctl", "chroot", "ptrace")
        .doesNotContain("mount", "unshare", "setns", "reboot", "kexec_load", "init_module", "bpf", "open_by_handle_at",
            "s390_runtime_instr");
    assertThat(s.syscalls()).anySatisfy(r -> {
      assertThat(r.names()).containsExactly("clone");
      assertThat(r.args()).singleElement().satisfies(a -> {
        assertThat(a.op()).isEqualTo("SCMP_CMP_MASKED_EQ");
        assertThat(a.value()).isEqualTo(0x7E020000L);
      });
    });
    assertThat(s.syscalls()).anySatisfy(r -> {
      assertThat(r.names()).containsExactly("clone3");
      assertThat(r.errnoRet()).isEqualTo(38);
    });
    assertThat(s.syscalls()).filteredOn(r -> r.names().equals(List.of("socket"))).hasSize(3);
  }

  @Test
  void seccomp_runtimeDefaultWithSysAdmin_allowsMountAndUnconditionalClone() {
    RuntimeSpec.Seccomp s = seccompOf(SecurityProfile.ProfileType.RuntimeDefault, "", List.of("SYS_ADMIN"));
    assertThat(allowed(s)).contains("mount", "unshare", "setns", "clone", "clone3");
    assertThat(s.syscalls()).noneSatisfy(r -> assertThat(r.names()).containsExactly("clone3")
        .isNotNull().satisfies(x -> assertThat(r.action()).isEqualTo("SCMP_ACT_ERRNO")));
  }

  @Test
  void seccomp_unconfinedOrAbsent_none() {
    assertThat(seccompOf(SecurityProfile.ProfileType.Unconfined, "", List.of())).isNull();
    assertThat(spec(container()).linux().seccomp()).isNull();
  }

  @Test
  void seccomp_localhost_loadsFile() {
    host.files.put("/profiles/p.json", """
        {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}""");
    RuntimeSpec.Seccomp s = seccompOf(SecurityProfile.ProfileType.Localhost, "/profiles/p.json", List.of());
    assertThat(s.defaultAction()).isEqualTo("SCMP_ACT_ALLOW");
    assertThat(s.syscalls()).singleElement().extracting(RuntimeSpec.Syscall::names).isEqualTo(List.of("mkdir"));
    invalid(() -> seccompOf(SecurityProfile.ProfileType.Localhost, "/profiles/missing.json", List.of()),
        "cannot read");
    invalid(() -> seccompOf(SecurityProfile.ProfileType.Localhost, "relative.json", List.of()), "absolute");
  }

  @Test
  void seccomp_deprecatedPath_runtimeDefault() {
    RuntimeSpec s = spec(withSc(container(), sc -> sc.setSeccompProfilePath("runtime/default")));
    assertThat(s.linux().seccomp().defaultAction()).isEqualTo("SCMP_ACT_ERRNO");
  }

  // -------------------------------------------------------------------------------- resources, oom

  @Test
  void resources_cpuMemoryAndSwapEqualToLimit() {
    RuntimeSpec s = spec(withRes(container(), r -> r.setCpuShares(512).setCpuQuota(50000).setCpuPeriod(100000)
        .setCpusetCpus("0-1").setCpusetMems("0").setMemoryLimitInBytes(64 << 20)));
    RuntimeSpec.Resources r = s.linux().resources();
    assertThat(r.cpu()).isEqualTo(new RuntimeSpec.Cpu(512L, 50000L, 100000L, "0-1", "0"));
    assertThat(r.memory()).isEqualTo(new RuntimeSpec.Memory(64L << 20, null, 64L << 20));
  }

  @Test
  void resources_noSwapController_noSwapLimit() {
    RuntimeOptions o = new RuntimeOptions("runc", "cgroupfs", true, false, false, true, false, 0, false);
    RuntimeSpec s = spec(withRes(container(), r -> r.setMemoryLimitInBytes(1 << 20)), pod(b -> { }),
        ImageConfigView.empty(), o);
    assertThat(s.linux().resources().memory().swap()).isNull();
  }

  @Test
  void resources_hugepages_keptOnlyWithHugetlbController() {
    ContainerConfig.Builder c = withRes(container(), r -> r.addHugepageLimits(HugepageLimit.newBuilder()
        .setPageSize("2MB").setLimit(4 << 20)));
    assertThat(spec(c).linux().resources().hugepageLimits())
        .containsExactly(new RuntimeSpec.HugepageLimit("2MB", 4 << 20));
    RuntimeOptions noHuge = new RuntimeOptions("runc", "cgroupfs", true, false, false, false, true, 0, false);
    assertThat(spec(c, pod(b -> { }), ImageConfigView.empty(), noHuge).linux().resources().hugepageLimits())
        .isNull();
  }

  @Test
  void resources_unified_onlyOnCgroupV2() {
    ContainerConfig.Builder c = withRes(container(), r -> r.putUnified("memory.high", "1000000"));
    invalid(() -> spec(c), "cgroup v2");
    RuntimeOptions v2 = new RuntimeOptions("runc", "cgroupfs", true, false, true, true, true, 0, false);
    RuntimeSpec s = spec(c, pod(b -> { }), ImageConfigView.empty(), v2);
    assertThat(s.linux().resources().unified()).containsEntry("memory.high", "1000000");
    assertThat(s.linux().namespaces()).extracting(RuntimeSpec.Namespace::type).contains("cgroup");
  }

  @Test
  void oomScoreAdj_belowBerthdsOwn_raisedToIt() {
    RuntimeOptions o = new RuntimeOptions("runc", "cgroupfs", true, false, false, true, true, -500, false);
    ContainerConfig.Builder low = withRes(container(), r -> r.setOomScoreAdj(-999));
    assertThat(spec(low, pod(b -> { }), ImageConfigView.empty(), o).process().oomScoreAdj()).isEqualTo(-500);
    ContainerConfig.Builder high = withRes(container(), r -> r.setOomScoreAdj(1000));
    assertThat(spec(high, pod(b -> { }), ImageConfigView.empty(), o).process().oomScoreAdj()).isEqualTo(1000);
  }

  // -------------------------------------------------------------------------------- namespaces, cgroups, annotations

  @Test
  void namespaces_pod_joinedByPath() {
    RuntimeSpec s = spec(container());
    assertThat(s.linux().namespaces()).containsExactly(
        new RuntimeSpec.Namespace("network", "/run/berth/netns/sb1"),
        new RuntimeSpec.Namespace("uts", "/proc/4242/ns/uts"),
        new RuntimeSpec.Namespace("ipc", "/proc/4242/ns/ipc"),
        new RuntimeSpec.Namespace("pid", "/proc/4242/ns/pid"),
        new RuntimeSpec.Namespace("mount", null));
  }

  @Test
  void namespaces_pidModes() {
    RuntimeSpec own = spec(withSc(container(), sc -> sc.setNamespaceOptions(NamespaceOption.newBuilder()
        .setPid(NamespaceMode.CONTAINER))));
    assertThat(own.linux().namespaces()).contains(new RuntimeSpec.Namespace("pid", null));
    RuntimeSpec node = spec(withSc(container(), sc -> sc.setNamespaceOptions(NamespaceOption.newBuilder()
        .setPid(NamespaceMode.NODE))));
    assertThat(node.linux().namespaces()).extracting(RuntimeSpec.Namespace::type).doesNotContain("pid");
    ContainerConfig target = withSc(container(), sc -> sc.setNamespaceOptions(NamespaceOption.newBuilder()
        .setPid(NamespaceMode.TARGET).setTargetId("other"))).build();
    RuntimeSpec t = gen.containerSpec(new ContainerRequest("c1", target, sandbox(pod(b -> { })),
        ImageConfigView.empty(), "i", rootfs, RuntimeOptions.defaults("runc"), 777));
    assertThat(t.linux().namespaces()).contains(new RuntimeSpec.Namespace("pid", "/proc/777/ns/pid"));
    invalid(() -> gen.containerSpec(new ContainerRequest("c1", target, sandbox(pod(b -> { })),
        ImageConfigView.empty(), "i", rootfs, RuntimeOptions.defaults("runc"), 0)), "not running");
  }

  @Test
  void namespaces_gvisorPidModes_namesRunscMatchesInsteadOfHostPaths() {
    RuntimeOptions gvisor = new RuntimeOptions("runsc", "cgroupfs", false, false, false, true, true, 0, true);
    RuntimeSpec pod = spec(withSc(container(), sc -> sc.setNamespaceOptions(NamespaceOption.newBuilder()
        .setPid(NamespaceMode.POD))), pod(b -> { }), ImageConfigView.empty(), gvisor);
    // the infra container's name: the pod's containers share the sandbox's first PID namespace, catatonit its init
    assertThat(pod.linux().namespaces()).contains(new RuntimeSpec.Namespace("pid", "/berth-gvisor-pidns/sb1"));
    assertThat(infra(pod(b -> { }), Path.of("/run/berth/netns/sb1"), gvisor).linux().namespaces())
        .contains(new RuntimeSpec.Namespace("pid", "/berth-gvisor-pidns/sb1"));
    RuntimeSpec own = spec(withSc(container(), sc -> sc.setNamespaceOptions(NamespaceOption.newBuilder()
        .setPid(NamespaceMode.CONTAINER))), pod(b -> { }), ImageConfigView.empty(), gvisor);
    assertThat(own.linux().namespaces()).contains(new RuntimeSpec.Namespace("pid", "/berth-gvisor-pidns/c1"));
    ContainerConfig target = withSc(container(), sc -> sc.setNamespaceOptions(NamespaceOption.newBuilder()
        .setPid(NamespaceMode.TARGET).setTargetId("other"))).build();
    RuntimeSpec t = gen.containerSpec(new ContainerRequest("c1", target, sandbox(pod(b -> { })),
        ImageConfigView.empty(), "i", rootfs, gvisor, 777));
    assertThat(t.linux().namespaces()).contains(new RuntimeSpec.Namespace("pid", "/berth-gvisor-pidns/other"));
  }

  @Test
  void namespaces_hostNetwork_noNetworkOrUts() {
    RuntimeSpec s = spec(container(), pod(b -> b.setNamespaceOptions(NamespaceOption.newBuilder()
        .setNetwork(NamespaceMode.NODE))), ImageConfigView.empty(), RuntimeOptions.defaults("runc"));
    assertThat(s.linux().namespaces()).extracting(RuntimeSpec.Namespace::type).doesNotContain("network", "uts");
  }

  // -------------------------------------------------------------------------------- user namespaces

  static final NamespaceOption USERNS = NamespaceOption.newBuilder().setPid(NamespaceMode.CONTAINER)
      .setUsernsOptions(UserNamespace.newBuilder().setMode(NamespaceMode.POD)
          .addUids(PodUserNamespaceTest.map(0, 100000, 65536)).addGids(PodUserNamespaceTest.map(0, 200000, 65536)))
      .build();

  SandboxInfo usernsSandbox(PodSandboxConfig pod, int infraPid) {
    return new SandboxInfo("sb1", pod, infraPid, Path.of("/run/berth/netns/sb1"),
        Path.of("/run/berth/sb1/hostname"), Path.of("/run/berth/sb1/hosts"), Path.of("/run/berth/sb1/resolv.conf"),
        Path.of("/run/berth/sb1/shm"), Path.of("/run/berth/ns/sb1-ipc"), Path.of("/run/berth/ns/sb1-uts"),
        Path.of("/run/berth/ns/sb1-user"));
  }

  RuntimeSpec usernsSpec(ContainerConfig.Builder c) {
    return gen.containerSpec(new ContainerRequest("c1", withSc(c, sc -> sc.setNamespaceOptions(USERNS)).build(),
        usernsSandbox(pod(b -> b.setNamespaceOptions(USERNS)), 0), ImageConfigView.empty(), "i", rootfs,
        RuntimeOptions.defaults("runc"), 0));
  }

  @Test
  void containerSpec_podUserNamespace_joinsPinnedNamespacesWithMappings() {
    RuntimeSpec s = usernsSpec(container());
    assertThat(s.linux().namespaces()).containsExactly(
        new RuntimeSpec.Namespace("user", "/run/berth/ns/sb1-user"),
        new RuntimeSpec.Namespace("network", "/run/berth/netns/sb1"),
        new RuntimeSpec.Namespace("uts", "/run/berth/ns/sb1-uts"),
        new RuntimeSpec.Namespace("ipc", "/run/berth/ns/sb1-ipc"),
        new RuntimeSpec.Namespace("pid", null), new RuntimeSpec.Namespace("mount", null));
    assertThat(s.linux().uidMappings()).containsExactly(new RuntimeSpec.IdMapping(0, 100000, 65536));
    assertThat(s.linux().gidMappings()).containsExactly(new RuntimeSpec.IdMapping(0, 200000, 65536));
    assertThat(s.toJson()).contains("\"uidMappings\"").contains("\"containerID\" : 0")
        .contains("\"hostID\" : 100000").contains("\"size\" : 65536");
    assertThat(s.process().user().uid()).isZero();
  }

  @Test
  void containerSpec_hostUserNamespace_noMappings() {
    RuntimeSpec s = spec(container());
    assertThat(s.linux().uidMappings()).isNull();
    assertThat(s.toJson()).doesNotContain("uidMappings");
    assertThat(s.linux().namespaces()).extracting(RuntimeSpec.Namespace::type).doesNotContain("user");
  }

  @Test
  void containerSpec_userOutsideMapping_invalid() {
    invalid(() -> usernsSpec(withSc(container(), sc -> sc.setRunAsUser(Int64Value.newBuilder().setValue(70000).build()))),
        "user 70000 is not mapped");
    invalid(() -> usernsSpec(withSc(container(), sc -> sc.setRunAsUser(Int64Value.newBuilder().setValue(1).build())
        .addSupplementalGroups(65536))), "group 65536 is not mapped");
    assertThat(usernsSpec(withSc(container(), sc -> sc.setRunAsUser(Int64Value.newBuilder().setValue(65535).build())))
        .process().user().uid()).isEqualTo(65535);
  }

  @Test
  void containerSpec_privilegedInUserNamespace_invalid() {
    PodSandboxConfig pod = pod(b -> b.setNamespaceOptions(USERNS).setPrivileged(true));
    invalid(() -> gen.containerSpec(new ContainerRequest("c1", withSc(container(), sc -> sc.setPrivileged(true)
        .setNamespaceOptions(USERNS)).build(), usernsSandbox(pod, 0), ImageConfigView.empty(), "i", rootfs,
        RuntimeOptions.defaults("runc"), 0)), "privileged containers cannot run");
  }

  @Test
  void containerSpec_containerUserNamespaceDiffers_invalid() {
    invalid(() -> gen.containerSpec(new ContainerRequest("c1", container().build(),
        usernsSandbox(pod(b -> b.setNamespaceOptions(USERNS)), 0), ImageConfigView.empty(), "i", rootfs,
        RuntimeOptions.defaults("runc"), 0)), "differ from its pod's");
    invalid(() -> spec(withSc(container(), sc -> sc.setNamespaceOptions(USERNS))), "differ from its pod's");
  }

  @Test
  void containerSpec_userNamespaceWithoutPin_invalid() {
    invalid(() -> gen.containerSpec(new ContainerRequest("c1", withSc(container(), sc -> sc.setNamespaceOptions(
        USERNS)).build(), sandbox(pod(b -> b.setNamespaceOptions(USERNS))), ImageConfigView.empty(), "i", rootfs,
        RuntimeOptions.defaults("runc"), 0)), "no pinned user namespace");
  }

  @Test
  void containerSpec_userNamespace_bindMountsRepeatLockedFlags() {
    host.lockedFlags.put("/run/berth/sb1/hosts", List.of("nosuid", "nodev", "noexec"));
    host.lockedFlags.put("/data", List.of("nodev"));
    RuntimeSpec s = usernsSpec(container().addMounts(Mount.newBuilder().setContainerPath("/data")
        .setHostPath("/data").setReadonly(true)));
    assertThat(mount(s, "/etc/hosts").options()).containsExactly("rbind", "nosuid", "nodev", "noexec", "rprivate",
        "rw");
    assertThat(mount(s, "/data").options()).containsExactly("rbind", "nodev", "rprivate", "ro");
    // Outside a user namespace nothing changes.
    assertThat(mount(spec(container()), "/etc/hosts").options()).containsExactly("rbind", "rprivate", "rw");
  }

  static Mount.Builder idmappedVolume(long hostId) {
    return Mount.newBuilder().setContainerPath("/vol").setHostPath("/var/lib/kubelet/pods/p/volumes/v")
        .addUidMappings(PodUserNamespaceTest.map(0, hostId, 65536))
        .addGidMappings(PodUserNamespaceTest.map(0, 200000, 65536));
  }

  @Test
  void containerSpec_idmappedMountInUserNamespace_bindsThePreparedSource() {
    ContainerConfig c = withSc(container().addMounts(idmappedVolume(100000)), sc -> sc.setNamespaceOptions(USERNS))
        .build();
    RuntimeSpec s = gen.containerSpec(new ContainerRequest("c1", c, usernsSandbox(pod(b -> b.setNamespaceOptions(
        USERNS)), 0), ImageConfigView.empty(), "i", rootfs, RuntimeOptions.defaults("runc"), 0,
        Map.of("/vol", Path.of("/run/berth/containers/c1/idmapped/0"))));
    assertThat(mount(s, "/vol")).isEqualTo(new RuntimeSpec.Mount("/vol", "bind",
        "/run/berth/containers/c1/idmapped/0", List.of("rbind", "rprivate", "rw")));
  }

  @Test
  void containerSpec_idmappedMountNotPrepared_invalid() {
    invalid(() -> usernsSpec(container().addMounts(idmappedVolume(100000))), "was not prepared");
  }

  @Test
  void containerSpec_idmappedMountOtherMappings_invalid() {
    invalid(() -> usernsSpec(container().addMounts(idmappedVolume(300000))), "must be the pod's user namespace");
  }

  @Test
  void containerSpec_idmappedMountWithoutUserNamespace_invalid() {
    invalid(() -> spec(container().addMounts(idmappedVolume(100000))), "needs a pod in its own user namespace");
  }

  @Test
  void infraSpec_userNamespace_joinsPinnedUserIpcUtsWithMappings() {
    PodSandboxConfig pod = pod(b -> b.setNamespaceOptions(USERNS.toBuilder().setPid(NamespaceMode.POD)));
    RuntimeSpec s = gen.infraSpec(InfraRequest.catatonit(usernsSandbox(pod, 0), rootfs, Path.of("/usr/bin/catatonit"),
        RuntimeOptions.defaults("runc")));
    assertThat(s.linux().namespaces()).containsExactly(
        new RuntimeSpec.Namespace("user", "/run/berth/ns/sb1-user"), new RuntimeSpec.Namespace("pid", null),
        new RuntimeSpec.Namespace("ipc", "/run/berth/ns/sb1-ipc"),
        new RuntimeSpec.Namespace("uts", "/run/berth/ns/sb1-uts"),
        new RuntimeSpec.Namespace("network", "/run/berth/netns/sb1"), new RuntimeSpec.Namespace("mount", null));
    assertThat(s.linux().uidMappings()).containsExactly(new RuntimeSpec.IdMapping(0, 100000, 65536));
    assertThat(s.hostname()).isNull();
    assertThat(s.process().user().uid()).isEqualTo(65535);
  }

  @Test
  void infraSpec_smallUserNamespace_runsAsItsRoot() {
    NamespaceOption small = NamespaceOption.newBuilder().setUsernsOptions(UserNamespace.newBuilder()
        .addUids(PodUserNamespaceTest.map(0, 100000, 1000)).addGids(PodUserNamespaceTest.map(0, 100000, 1000)))
        .build();
    RuntimeSpec s = gen.infraSpec(InfraRequest.catatonit(usernsSandbox(pod(b -> b.setNamespaceOptions(small)), 0),
        rootfs, Path.of("/usr/bin/catatonit"), RuntimeOptions.defaults("runc")));
    assertThat(s.process().user()).isEqualTo(new RuntimeSpec.User(0, 0, List.of(0L)));
  }

  @Test
  void infraSpec_userNamespaceWithoutPins_invalid() {
    invalid(() -> infra(pod(b -> b.setNamespaceOptions(USERNS)), Path.of("/run/berth/netns/sb1"),
        RuntimeOptions.defaults("runc")), "needs pinned user, IPC and UTS namespaces");
    invalid(() -> infra(pod(b -> b.setNamespaceOptions(NamespaceOption.newBuilder().setUsernsOptions(
        UserNamespace.newBuilder().setMode(NamespaceMode.CONTAINER)))), Path.of("/run/berth/netns/sb1"),
        RuntimeOptions.defaults("runc")), "not supported");
  }

  @Test
  void cgroupsPath_cgroupfsAndSystemd() {
    assertThat(spec(container()).linux().cgroupsPath()).isEqualTo("/kubepods/pod1/berth-c1");
    assertThat(SpecGenerator.cgroupsPath("", "c1", "cgroupfs")).isEqualTo("/berth/berth-c1");
    assertThat(SpecGenerator.cgroupsPath("kubepods", "c1", "cgroupfs")).isEqualTo("/kubepods/berth-c1");
    assertThat(SpecGenerator.cgroupsPath("/kubepods.slice/kubepods-pod1.slice", "c1", "systemd"))
        .isEqualTo("kubepods-pod1.slice:berth:c1");
    assertThat(SpecGenerator.cgroupsPath("", "c1", "systemd")).isEqualTo("system.slice:berth:c1");
    invalid(() -> SpecGenerator.cgroupsPath("/a/../../b", "c1", "cgroupfs"), "invalid cgroup parent");
    invalid(() -> SpecGenerator.cgroupsPath("/kubepods", "c1", "systemd"), "not a systemd slice");
  }

  @Test
  void annotations_criKeysOnly_userAnnotationsNotCopied() {
    RuntimeSpec s = spec(container().putAnnotations("io.kubernetes.cri.container-type", "sandbox")
        .putAnnotations("run.oci.hooks", "evil"));
    assertThat(s.annotations()).containsOnly(
        Map.entry(CriAnnotations.CONTAINER_TYPE, "container"),
        Map.entry(CriAnnotations.SANDBOX_ID, "sb1"),
        Map.entry(CriAnnotations.SANDBOX_NAME, "web"),
        Map.entry(CriAnnotations.SANDBOX_NAMESPACE, "default"),
        Map.entry(CriAnnotations.SANDBOX_UID, "uid-1"),
        Map.entry(CriAnnotations.CONTAINER_NAME, "app"),
        Map.entry(CriAnnotations.IMAGE_NAME, "docker.io/library/app:1"));
  }

  @Test
  void containerId_withSlash_isInvalid() {
    invalid(() -> gen.containerSpec(new ContainerRequest("../x", container().build(), sandbox(pod(b -> { })),
        ImageConfigView.empty(), "i", rootfs, RuntimeOptions.defaults("runc"), 0)), "invalid container id");
  }

  @Test
  void tty_setsTerminal() {
    assertThat(spec(container().setTty(true)).process().terminal()).isTrue();
  }

  // -------------------------------------------------------------------------------- infra

  RuntimeSpec infra(PodSandboxConfig pod, Path netns, RuntimeOptions o) {
    SandboxInfo sb = new SandboxInfo("sb1", pod, 0, netns, null, null, null, null);
    return gen.infraSpec(InfraRequest.catatonit(sb, rootfs, Path.of("/usr/bin/catatonit"), o));
  }

  @Test
  void infraSpec_gvisor_sandboxCgroupWithoutPauseSizedLimits() {
    RuntimeOptions gvisor = new RuntimeOptions("runsc", "cgroupfs", false, false, false, true, true, 0, true);
    RuntimeSpec s = infra(pod(b -> { }), Path.of("/run/berth/netns/sb1"), gvisor);
    assertThat(s.linux().resources()).isNull();
    assertThat(s.linux().cgroupsPath()).isEqualTo("/kubepods/pod1/berth-sb1");
    assertThat(s.process().args()).containsExactly("/catatonit", "-P");
  }

  @Test
  void infraSpec_catatonitPause_unprivilegedReadOnlyOwnNamespaces() {
    RuntimeOptions o = new RuntimeOptions("runc", "cgroupfs", true, false, false, true, true, 0, false);
    RuntimeSpec s = infra(pod(b -> { }), Path.of("/run/berth/netns/sb1"), o);
    assertThat(s.process().args()).containsExactly("/catatonit", "-P");
    assertThat(s.process().user().uid()).isEqualTo(65535);
    assertThat(s.process().user().gid()).isEqualTo(65535);
    assertThat(s.process().capabilities().bounding()).isEmpty();
    assertThat(s.process().capabilities().effective()).isEmpty();
    assertThat(s.process().capabilities().inheritable()).isEmpty();
    assertThat(s.process().noNewPrivileges()).isTrue();
    assertThat(s.process().oomScoreAdj()).isZero();
    assertThat(s.root().readonly()).isTrue();
    assertThat(s.hostname()).isEqualTo("web-0");
    assertThat(s.linux().namespaces()).containsExactly(new RuntimeSpec.Namespace("pid", null),
        new RuntimeSpec.Namespace("ipc", null), new RuntimeSpec.Namespace("uts", null),
        new RuntimeSpec.Namespace("network", "/run/berth/netns/sb1"), new RuntimeSpec.Namespace("mount", null));
    assertThat(mount(s, "/catatonit")).isEqualTo(new RuntimeSpec.Mount("/catatonit", "bind", "/usr/bin/catatonit",
        List.of("bind", "ro", "nosuid", "nodev")));
    assertThat(s.linux().seccomp().defaultAction()).isEqualTo("SCMP_ACT_ERRNO");
    assertThat(allowed(s.linux().seccomp())).doesNotContain("chroot", "mount");
    assertThat(s.linux().cgroupsPath()).isEqualTo("/kubepods/pod1/berth-sb1");
    assertThat(s.linux().resources().cpu().shares()).isEqualTo(2);
    assertThat(s.annotations()).containsEntry(CriAnnotations.CONTAINER_TYPE, "sandbox")
        .containsEntry(CriAnnotations.SANDBOX_ID, "sb1");
    assertThat(s.linux().maskedPaths()).isEqualTo(SpecGenerator.DEFAULT_MASKED_PATHS);
  }

  @Test
  void infraSpec_pauseImage_runsItsCommandOnItsRootfsWithoutCatatonit() {
    RuntimeOptions o = new RuntimeOptions("runc", "cgroupfs", true, false, false, true, true, 0, false);
    SandboxInfo sb = new SandboxInfo("sb1", pod(b -> { }), 0, Path.of("/run/berth/netns/sb1"), null, null, null,
        null);
    RuntimeSpec s = gen.infraSpec(InfraRequest.image(sb, rootfs, List.of("/pause"), o));
    assertThat(s.process().args()).containsExactly("/pause");
    assertThat(s.process().user().uid()).isEqualTo(65535);
    assertThat(s.root().path()).isEqualTo(rootfs.toString());
    assertThat(s.root().readonly()).isTrue();
    assertThat(s.mounts()).extracting(RuntimeSpec.Mount::destination).doesNotContain("/catatonit");
    assertThatThrownBy(() -> new InfraRequest(sb, rootfs, Path.of("/usr/bin/catatonit"), List.of("/pause"), o))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void infraSpec_oomScoreAdj_containerdsMinus998RaisedToBerthds() {
    RuntimeOptions canLower = new RuntimeOptions("runc", "cgroupfs", true, false, false, true, true, -1000, false);
    assertThat(infra(pod(b -> { }), Path.of("/n"), canLower).process().oomScoreAdj()).isEqualTo(-998);
    RuntimeOptions cannot = new RuntimeOptions("runc", "cgroupfs", true, false, false, true, true, -100, false);
    assertThat(infra(pod(b -> { }), Path.of("/n"), cannot).process().oomScoreAdj()).isEqualTo(-100);
  }

  @Test
  void infraSpec_hostNamespaces_notCreated() {
    PodSandboxConfig host = pod(b -> b.setNamespaceOptions(NamespaceOption.newBuilder().setNetwork(NamespaceMode.NODE)
        .setIpc(NamespaceMode.NODE).setPid(NamespaceMode.NODE)));
    RuntimeSpec s = infra(host, null, RuntimeOptions.defaults("runc"));
    assertThat(s.linux().namespaces()).containsExactly(new RuntimeSpec.Namespace("mount", null));
    assertThat(s.hostname()).isNull();
    assertThat(mount(s, "/dev/shm").source()).isEqualTo("/dev/shm");
  }

  @Test
  void infraSpec_noNetnsForPodNetwork_isInvalid() {
    invalid(() -> infra(pod(b -> { }), null, RuntimeOptions.defaults("runc")), "network namespace");
  }

  @Test
  void infraSpec_sysctls_validated() {
    PodSandboxConfig ok = pod(b -> { }).toBuilder().setLinux(pod(b -> { }).getLinux().toBuilder()
        .putSysctls("net.ipv4.ip_unprivileged_port_start", "0").putSysctls("kernel/shm_rmid_forced", "1")).build();
    assertThat(infra(ok, Path.of("/n"), RuntimeOptions.defaults("runc")).linux().sysctl())
        .containsEntry("net.ipv4.ip_unprivileged_port_start", "0").containsEntry("kernel.shm_rmid_forced", "1");
  }

  static PodSandboxConfig withSysctl(PodSandboxConfig p, String k, String v) {
    return p.toBuilder().setLinux(p.getLinux().toBuilder().putSysctls(k, v)).build();
  }

  @Test
  void sysctls_smuggledSecondKey_refused() {
    // CVE-2022-0811: a value carrying "+kernel.core_pattern=..." set a host-wide sysctl through pinns.
    invalid(() -> infra(withSysctl(pod(b -> { }), "kernel.shm_rmid_forced", "1+kernel.core_pattern=|/evil"),
        Path.of("/n"), RuntimeOptions.defaults("runc")), "invalid value");
    invalid(() -> infra(withSysctl(pod(b -> { }), "net.ipv4.ip_forward", "1\nkernel.core_pattern=x"),
        Path.of("/n"), RuntimeOptions.defaults("runc")), "invalid value");
    invalid(() -> infra(withSysctl(pod(b -> { }), "net.ipv4.ip_forward=1 kernel.x", "1"),
        Path.of("/n"), RuntimeOptions.defaults("runc")), "invalid sysctl name");
  }

  @Test
  void sysctls_notNamespacedOrHostNamespace_refused() {
    invalid(() -> infra(withSysctl(pod(b -> { }), "kernel.core_pattern", "x"), Path.of("/n"),
        RuntimeOptions.defaults("runc")), "not namespaced");
    invalid(() -> infra(withSysctl(pod(b -> { }), "vm.overcommit_memory", "1"), Path.of("/n"),
        RuntimeOptions.defaults("runc")), "not namespaced");
    PodSandboxConfig hostNet = pod(b -> b.setNamespaceOptions(NamespaceOption.newBuilder()
        .setNetwork(NamespaceMode.NODE)));
    invalid(() -> infra(withSysctl(hostNet, "net.ipv4.ip_forward", "1"), null, RuntimeOptions.defaults("runc")),
        "host network");
    PodSandboxConfig hostIpc = pod(b -> b.setNamespaceOptions(NamespaceOption.newBuilder()
        .setIpc(NamespaceMode.NODE)));
    invalid(() -> infra(withSysctl(hostIpc, "kernel.msgmax", "1"), Path.of("/n"), RuntimeOptions.defaults("runc")),
        "host IPC");
  }

  @Test
  void prepareInfraRootfs_createsMountPoints_idempotent() {
    Path dir = rootfs.resolve("infra");
    SpecGenerator.prepareInfraRootfs(dir);
    SpecGenerator.prepareInfraRootfs(dir);
    assertThat(dir.resolve("catatonit")).isRegularFile();
    assertThat(dir.resolve("proc")).isDirectory();
    assertThat(dir.resolve("dev")).isDirectory();
    assertThat(dir.resolve("sys")).isDirectory();
  }

  // -------------------------------------------------------------------------------- JSON

  @Test
  void json_roundTrip_throughBundle() {
    RuntimeSpec s = spec(withRes(container(), r -> r.setMemoryLimitInBytes(1 << 20)));
    s.writeTo(rootfs.resolve("bundle"));
    assertThat(RuntimeSpec.readFrom(rootfs.resolve("bundle"))).isEqualTo(s);
    String json = s.toJson();
    assertThat(json).contains("\"ociVersion\" : \"1.0.2-dev\"", "\"cgroupsPath\"", "\"noNewPrivileges\" : false")
        .doesNotContain("null");
  }

  @Test
  void resourcesJson_isRuncUpdateBody() {
    String json = RuntimeSpec.resourcesJson(new RuntimeSpec.Resources(null, new RuntimeSpec.Memory(100L, null, null),
        new RuntimeSpec.Cpu(2L, null, null, null, null), null, null, null));
    assertThat(json.replaceAll("\\s", "")).isEqualTo("{\"memory\":{\"limit\":100},\"cpu\":{\"shares\":2}}");
  }
}
