package io.berth.oci;

import io.berth.core.BerthException;
import io.berth.cri.api.Capability;
import io.berth.cri.api.ContainerConfig;
import io.berth.cri.api.Device;
import io.berth.cri.api.HugepageLimit;
import io.berth.cri.api.KeyValue;
import io.berth.cri.api.LinuxContainerResources;
import io.berth.cri.api.LinuxContainerSecurityContext;
import io.berth.cri.api.LinuxSandboxSecurityContext;
import io.berth.cri.api.Mount;
import io.berth.cri.api.MountPropagation;
import io.berth.cri.api.NamespaceMode;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.SecurityProfile;
import io.berth.cri.api.SupplementalGroupsPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Builds OCI runtime specs for CRI containers and pod infra processes, following containerd's CRI plugin
 * (internal/cri/server/container_create*.go, internal/cri/opts) so that pods behave the same under Berth.
 *
 * <p>Apart from reading the image's /etc/passwd and /etc/group inside the rootfs, stat-ing requested devices and
 * creating missing bind-mount source directories (as containerd does), generation is a pure function of its
 * inputs. Invalid requests throw {@link BerthException} with kind INVALID_ARGUMENT. Thread-safe.
 */
public final class SpecGenerator {
  /** containerd's default PATH (pkg/oci defaultUnixEnv). */
  public static final String DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

  /** containerd's default masked paths (pkg/oci populateDefaultUnixSpec). */
  public static final List<String> DEFAULT_MASKED_PATHS = List.of(
      "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
      "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/sys/devices/virtual/powercap", "/proc/scsi");

  /** containerd's default read-only paths. */
  public static final List<String> DEFAULT_READONLY_PATHS = List.of(
      "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger");

  /** The user the infra process runs as (the pause image's). */
  public static final long INFRA_UID = 65535;

  /** Where the infra rootfs holds catatonit. */
  public static final String INFRA_BINARY = "/catatonit";

  /** containerd's sandbox oom_score_adj; raised to berthd's own when lower (no CAP_SYS_RESOURCE). */
  static final int SANDBOX_OOM_SCORE_ADJ = -998;

  /** containerd's DefaultSandboxCPUshares. */
  static final long SANDBOX_CPU_SHARES = 2;

  private final HostFacts host;

  SpecGenerator(HostFacts host) {
    this.host = host;
  }

  /** A generator for this host. */
  public static SpecGenerator create() {
    return new SpecGenerator(HostFacts.real());
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Containers

  /** The runtime spec of a CRI container. */
  public RuntimeSpec containerSpec(ContainerRequest r) {
    requireId(r.id(), "container");
    ContainerConfig config = r.config();
    SandboxInfo sandbox = r.sandbox();
    RuntimeOptions options = r.options();
    ImageConfigView image = r.image() == null ? ImageConfigView.empty() : r.image();
    LinuxContainerSecurityContext sc = config.getLinux().getSecurityContext();
    LinuxSandboxSecurityContext podSc = sandbox.config().getLinux().getSecurityContext();
    boolean privileged = sc.getPrivileged();
    if (privileged && !podSc.getPrivileged()) {
      throw BerthException.invalidArgument("no privileged container allowed in sandbox %s", sandbox.id());
    }
    if (!config.getCDIDevicesList().isEmpty()) {
      throw BerthException.invalidArgument("CDI devices are not supported");
    }
    validateVolumes(image.volumes());
    Optional<PodUserNamespace> userns = PodUserNamespace.of(podSc.getNamespaceOptions());
    PodUserNamespace.checkContainer(podSc.getNamespaceOptions(), sc.getNamespaceOptions());
    if (userns.isPresent()) {
      if (sandbox.usernsPath() == null) {
        throw BerthException.invalidArgument("sandbox %s has no pinned user namespace", sandbox.id());
      }
      if (privileged) {
        // Host devices and a writable /sys make no sense for a root that is not the host's.
        throw BerthException.invalidArgument("privileged containers cannot run in a pod's user namespace");
      }
      if (sc.getNamespaceOptions().getPid() == NamespaceMode.NODE) {
        throw BerthException.invalidArgument("a container in its pod's user namespace cannot use the host's PID "
            + "namespace");
      }
    }

    // Process
    List<String> args = processArgs(config, image);
    String hostname = sandbox.config().getHostname().isEmpty() ? host.hostname() : sandbox.config().getHostname();
    List<String> env = env(hostname, image.env(), config.getEnvsList());
    String cwd = !config.getWorkingDir().isEmpty() ? config.getWorkingDir()
        : !image.workingDir().isEmpty() ? image.workingDir() : "/";
    if (!cwd.startsWith("/")) {
      throw BerthException.invalidArgument("working directory %s is not absolute", cwd);
    }
    RuntimeSpec.User user = user(r.userFiles() != null ? r.userFiles() : UserFiles.read(r.rootfs()), sc,
        image.user());
    userns.ifPresent(u -> checkMapped(u, user));

    List<String> all = host.currentCapabilities();
    List<String> caps;
    if (privileged) {
      caps = all;
    } else {
      Capability c = sc.getCapabilities();
      if (!c.getAddAmbientCapabilitiesList().isEmpty()) {
        throw BerthException.invalidArgument("ambient capabilities are not supported");
      }
      caps = Capabilities.apply(Capabilities.DEFAULT, c.getAddCapabilitiesList(), c.getDropCapabilitiesList(), all);
    }
    // Inheritable and ambient stay empty: CVE-2022-24769.
    RuntimeSpec.Capabilities capSets = new RuntimeSpec.Capabilities(caps, caps, List.of(), caps, List.of());

    LinuxContainerResources res = config.getLinux().getResources();
    int oom = Math.max((int) clamp(res.getOomScoreAdj(), -1000, 1000), options.minOomScoreAdj());
    RuntimeSpec.Process process = new RuntimeSpec.Process(config.getTty(), user, args, env, cwd, capSets, null,
        sc.getNoNewPrivs(), oom, null, null);

    // Namespaces
    NamespaceMode podNet = podSc.getNamespaceOptions().getNetwork();
    NamespaceMode podIpc = podSc.getNamespaceOptions().getIpc();
    List<RuntimeSpec.Namespace> namespaces = new ArrayList<>();
    if (userns.isPresent()) {
      // Joined first (runc 1.1 and crun do so anyway): the pod's other namespaces are owned by it.
      namespaces.add(new RuntimeSpec.Namespace("user", sandbox.usernsPath().toString()));
    }
    if (podNet != NamespaceMode.NODE) {
      String path = sandbox.netnsPath() != null ? sandbox.netnsPath().toString() : nsPath(sandbox.infraPid(), "net");
      namespaces.add(new RuntimeSpec.Namespace("network", path));
      namespaces.add(new RuntimeSpec.Namespace("uts",
          sandbox.utsPath() != null ? sandbox.utsPath().toString() : nsPath(sandbox.infraPid(), "uts")));
    }
    if (podIpc != NamespaceMode.NODE) {
      namespaces.add(new RuntimeSpec.Namespace("ipc",
          sandbox.ipcPath() != null ? sandbox.ipcPath().toString() : nsPath(sandbox.infraPid(), "ipc")));
    }
    boolean gvisor = options.gvisor();
    switch (sc.getNamespaceOptions().getPid()) {
      case CONTAINER -> namespaces.add(new RuntimeSpec.Namespace("pid", gvisor ? gvisorPidNamespace(r.id()) : null));
      case POD -> namespaces.add(new RuntimeSpec.Namespace("pid",
          gvisor ? gvisorPidNamespace(sandbox.id()) : nsPath(sandbox.infraPid(), "pid")));
      case TARGET -> {
        if (r.targetPid() <= 0) {
          throw BerthException.invalidArgument("PID namespace target %s is not running",
              sc.getNamespaceOptions().getTargetId());
        }
        namespaces.add(new RuntimeSpec.Namespace("pid", gvisor
            ? gvisorPidNamespace(sc.getNamespaceOptions().getTargetId()) : nsPath(r.targetPid(), "pid")));
      }
      case NODE -> { }
      default -> throw BerthException.invalidArgument("unknown PID namespace mode");
    }
    namespaces.add(new RuntimeSpec.Namespace("mount", null));
    if (options.cgroupV2() && !privileged) {
      namespaces.add(new RuntimeSpec.Namespace("cgroup", null));
    }

    // Mounts
    List<Mount> extra = new ArrayList<>();
    boolean ro = sc.getReadonlyRootfs();
    if (sandbox.hostnameFile() != null) {
      extra.add(bind("/etc/hostname", sandbox.hostnameFile(), ro));
    }
    if (sandbox.hostsFile() != null) {
      extra.add(bind("/etc/hosts", sandbox.hostsFile(), ro));
    }
    if (sandbox.resolvConfFile() != null) {
      extra.add(bind("/etc/resolv.conf", sandbox.resolvConfFile(), ro));
    }
    if (podIpc == NamespaceMode.NODE) {
      extra.add(bind("/dev/shm", Path.of("/dev/shm"), false));
    } else if (sandbox.shmDir() != null) {
      extra.add(bind("/dev/shm", sandbox.shmDir(), false));
    }
    MountsResult mounts = mounts(config.getMountsList(), extra, privileged, options, true, userns,
        r.idmappedSources());

    // Devices
    List<RuntimeSpec.Device> devices = new ArrayList<>();
    List<RuntimeSpec.DeviceCgroup> deviceRules = new ArrayList<>();
    deviceRules.add(new RuntimeSpec.DeviceCgroup(false, null, null, null, "rwm"));
    if (privileged) {
      devices.addAll(host.hostDevices());
      deviceRules.add(new RuntimeSpec.DeviceCgroup(true, null, null, null, "rwm"));
    }
    for (Device d : config.getDevicesList()) {
      addDevice(d, devices, deviceRules);
    }

    RuntimeSpec.Resources resources = resources(res, options, deviceRules);

    List<String> masked;
    List<String> readonly;
    if (privileged) {
      masked = List.of();
      readonly = List.of();
    } else {
      masked = sc.getMaskedPathsList().isEmpty() ? DEFAULT_MASKED_PATHS : List.copyOf(sc.getMaskedPathsList());
      readonly = sc.getReadonlyPathsList().isEmpty() ? DEFAULT_READONLY_PATHS
          : List.copyOf(sc.getReadonlyPathsList());
    }

    RuntimeSpec.Seccomp seccomp = privileged ? null : seccomp(sc.hasSeccomp() ? sc.getSeccomp() : null,
        sc.getSeccompProfilePath(), caps);

    Map<String, String> annotations = new TreeMap<>();
    annotations.put(CriAnnotations.CONTAINER_TYPE, CriAnnotations.CONTAINER_TYPE_CONTAINER);
    annotations.put(CriAnnotations.SANDBOX_ID, sandbox.id());
    annotations.put(CriAnnotations.SANDBOX_NAME, sandbox.config().getMetadata().getName());
    annotations.put(CriAnnotations.SANDBOX_NAMESPACE, sandbox.config().getMetadata().getNamespace());
    annotations.put(CriAnnotations.SANDBOX_UID, sandbox.config().getMetadata().getUid());
    annotations.put(CriAnnotations.CONTAINER_NAME, config.getMetadata().getName());
    annotations.put(CriAnnotations.IMAGE_NAME, r.imageName() == null ? "" : r.imageName());

    RuntimeSpec.Linux linux = new RuntimeSpec.Linux(null, resources,
        cgroupsPath(sandbox.config().getLinux().getCgroupParent(), r.id(), options.cgroupDriver()), namespaces,
        devices.isEmpty() ? null : devices, seccomp, mounts.rootfsPropagation(), masked, readonly,
        userns.map(u -> idMappings(u.uids())).orElse(null), userns.map(u -> idMappings(u.gids())).orElse(null));
    return new RuntimeSpec(RuntimeSpec.OCI_VERSION, process, new RuntimeSpec.Root(r.rootfs().toString(), ro), null,
        mounts.mounts(), annotations, linux);
  }

  /**
   * Kubernetes' command/args merge (https://kubernetes.io/docs/tasks/inject-data-application/
   * define-command-argument-container/): command replaces the entrypoint and drops the image's cmd; args replace
   * the cmd.
   */
  public static List<String> processArgs(ContainerConfig config, ImageConfigView image) {
    List<String> command = config.getCommandList();
    List<String> args = config.getArgsList();
    List<String> out = new ArrayList<>();
    if (!command.isEmpty()) {
      out.addAll(command);
      out.addAll(args);
    } else {
      List<String> entrypoint = image.entrypoint();
      if (!(entrypoint.size() == 1 && entrypoint.getFirst().isEmpty())) {
        out.addAll(entrypoint);
      }
      out.addAll(args.isEmpty() ? image.cmd() : args);
    }
    if (out.isEmpty()) {
      throw BerthException.invalidArgument("no command specified");
    }
    return out;
  }

  /** PATH default, then HOSTNAME, then the image's env, then the CRI env; a later key replaces an earlier one. */
  static List<String> env(String hostname, List<String> imageEnv, List<KeyValue> criEnv) {
    LinkedHashMap<String, String> vars = new LinkedHashMap<>();
    put(vars, DEFAULT_PATH);
    put(vars, "HOSTNAME=" + hostname);
    for (String e : imageEnv) {
      put(vars, e);
    }
    for (KeyValue kv : criEnv) {
      String key = kv.getKey();
      String value = kv.getValue().toStringUtf8();
      if (key.isEmpty() || key.indexOf('=') >= 0 || key.indexOf('\0') >= 0 || value.indexOf('\0') >= 0) {
        throw BerthException.invalidArgument("invalid environment variable %s", key);
      }
      vars.put(key, key + "=" + value);
    }
    return new ArrayList<>(vars.values());
  }

  private static void put(Map<String, String> vars, String entry) {
    if (entry.indexOf('\0') >= 0) {
      throw BerthException.invalidArgument("environment entry with a NUL byte");
    }
    int eq = entry.indexOf('=');
    if (eq < 0) {
      vars.remove(entry); // Docker semantics: a bare KEY unsets it
    } else if (eq > 0) {
      vars.put(entry.substring(0, eq), entry);
    }
  }

  /** The process user: CRI RunAsUsername, RunAsUser, RunAsGroup, else the image's User; groups per policy. */
  static RuntimeSpec.User user(UserFiles files, LinuxContainerSecurityContext sc, String imageUser) {
    String userPart;
    String groupPart = null;
    if (sc.hasRunAsGroup() && !sc.hasRunAsUser() && sc.getRunAsUsername().isEmpty()) {
      // as containerd: a group alone would silently pair with whatever user the image names
      throw BerthException.invalidArgument("RunAsGroup %d is set without RunAsUser or RunAsUsername",
          sc.getRunAsGroup().getValue());
    }
    if (!sc.getRunAsUsername().isEmpty()) {
      userPart = sc.getRunAsUsername();
    } else if (sc.hasRunAsUser()) {
      UserResolver.checkId(sc.getRunAsUser().getValue(), "uid", "RunAsUser");
      userPart = Long.toString(sc.getRunAsUser().getValue());
    } else {
      String[] parts = imageUser.split(":", 2);
      userPart = parts[0];
      groupPart = parts.length == 2 ? parts[1] : null;
    }
    if (sc.hasRunAsGroup()) {
      UserResolver.checkId(sc.getRunAsGroup().getValue(), "gid", "RunAsGroup");
      groupPart = Long.toString(sc.getRunAsGroup().getValue());
    }
    if (userPart.isEmpty()) {
      userPart = "0";
    }
    String userstr = groupPart == null ? userPart : userPart + ":" + groupPart;
    UserResolver resolver = new UserResolver(files);
    UserResolver.Resolved u = resolver.resolve(userstr);
    TreeSet<Long> gids = new TreeSet<>();
    gids.add(u.gid());
    if (sc.getSupplementalGroupsPolicy() == SupplementalGroupsPolicy.Merge) {
      gids.addAll(resolver.memberGroups(u.userName()));
    } else if (sc.getSupplementalGroupsPolicy() != SupplementalGroupsPolicy.Strict) {
      throw BerthException.invalidArgument("unknown supplemental groups policy %s", sc.getSupplementalGroupsPolicy());
    }
    for (long g : sc.getSupplementalGroupsList()) {
      UserResolver.checkId(g, "supplemental group", Long.toString(g));
      gids.add(g);
    }
    return new RuntimeSpec.User(u.uid(), u.gid(), new ArrayList<>(gids));
  }

  /**
   * The process's ids must be mapped in the pod's user namespace, or the runtime fails with a bare EINVAL from
   * setresuid(2)/setgroups(2).
   */
  static void checkMapped(PodUserNamespace u, RuntimeSpec.User user) {
    if (!u.uids().maps(user.uid())) {
      throw BerthException.invalidArgument("user %d is not mapped in the pod's user namespace (uids 0-%d)",
          user.uid(), u.uids().length() - 1);
    }
    List<Long> gids = new ArrayList<>(List.of(user.gid()));
    if (user.additionalGids() != null) {
      gids.addAll(user.additionalGids());
    }
    for (long g : gids) {
      if (!u.gids().maps(g)) {
        throw BerthException.invalidArgument("group %d is not mapped in the pod's user namespace (gids 0-%d)", g,
            u.gids().length() - 1);
      }
    }
  }

  /** The OCI form of a pod's mapping: container ids from 0. */
  static List<RuntimeSpec.IdMapping> idMappings(PodUserNamespace.Range r) {
    return List.of(new RuntimeSpec.IdMapping(0, r.hostId(), r.length()));
  }

  /** Image VOLUMEs are not mounted, but a path that could point outside the rootfs is refused (CVE-2022-23648). */
  static void validateVolumes(List<String> volumes) {
    for (String v : volumes) {
      if (!v.startsWith("/") || v.indexOf('\0') >= 0 || List.of(v.split("/")).contains("..")) {
        throw BerthException.invalidArgument("invalid image volume %s", v);
      }
    }
  }

  private record MountsResult(List<RuntimeSpec.Mount> mounts, String rootfsPropagation) {}

  private static Mount bind(String containerPath, Path hostPath, boolean readonly) {
    return Mount.newBuilder().setContainerPath(containerPath).setHostPath(hostPath.toString()).setReadonly(readonly)
        .build();
  }

  /** Default mounts, then CRI and extra mounts sorted by depth; supplied mounts replace defaults at the same path. */
  private MountsResult mounts(List<Mount> cri, List<Mount> extra, boolean privileged, RuntimeOptions options,
      boolean cgroupMount, Optional<PodUserNamespace> userns, Map<String, Path> idmappedSources) {
    List<Mount> supplied = new ArrayList<>(cri);
    for (Mount e : extra) {
      boolean overridden = cri.stream().anyMatch(c -> cleanPath(c.getContainerPath())
          .equals(cleanPath(e.getContainerPath())));
      if (!overridden) {
        supplied.add(e);
      }
    }
    supplied.sort(Comparator.comparingInt(m -> depth(cleanPath(m.getContainerPath()))));
    Set<String> suppliedPaths = new TreeSet<>();
    for (Mount m : supplied) {
      String dst = m.getContainerPath();
      if (!dst.startsWith("/") || List.of(dst.split("/")).contains("..") || dst.indexOf('\0') >= 0) {
        throw BerthException.invalidArgument("invalid container path %s", dst);
      }
      if (!m.getHostPath().startsWith("/") || m.getHostPath().indexOf('\0') >= 0) {
        throw BerthException.invalidArgument("host path %s must be absolute", m.getHostPath());
      }
      suppliedPaths.add(cleanPath(dst));
    }
    List<RuntimeSpec.Mount> out = new ArrayList<>();
    for (RuntimeSpec.Mount d : defaultMounts(privileged, cgroupMount)) {
      String dst = d.destination();
      if (suppliedPaths.contains(dst) || (suppliedPaths.contains("/dev") && dst.startsWith("/dev/"))) {
        continue;
      }
      out.add(d);
    }
    String propagation = null;
    for (Mount m : supplied) {
      if (m.hasImage() && !m.getImage().getImage().isEmpty()) {
        throw BerthException.invalidArgument("image volumes are not supported (%s)", m.getContainerPath());
      }
      Path src;
      Path staged = idmappedSources.get(m.getContainerPath());
      if (PodUserNamespace.idmapped(userns, m) || staged != null) {
        // berthd made the idmapped or recursively read-only mount itself (runc 1.1 cannot idmap, crun 1.8 has no
        // rro); the runtime binds it like any source, and a bind keeps each mount's read-only flag.
        src = staged;
        if (src == null) {
          throw BerthException.invalidArgument("idmapped mount %s was not prepared", m.getContainerPath());
        }
      } else {
        src = host.prepareMountSource(Path.of(m.getHostPath()));
      }
      List<String> opts = new ArrayList<>();
      opts.add("rbind");
      if (userns.isPresent()) {
        // In a user namespace the kernel locks the source mount's nosuid/nodev/noexec: a read-only remount that
        // does not repeat them fails with EPERM, and runc 1.1 does not repeat them itself.
        opts.addAll(host.lockedMountFlags(src));
      }
      MountPropagation p = m.getPropagation();
      switch (p) {
        case PROPAGATION_PRIVATE -> opts.add("rprivate");
        case PROPAGATION_HOST_TO_CONTAINER -> {
          opts.add("rslave");
          if (!"rshared".equals(propagation)) {
            propagation = "rslave";
          }
        }
        case PROPAGATION_BIDIRECTIONAL -> {
          opts.add("rshared");
          propagation = "rshared";
        }
        default -> throw BerthException.invalidArgument("unknown mount propagation for %s", m.getContainerPath());
      }
      if (m.getReadonly()) {
        if (m.getRecursiveReadOnly() && staged != null) {
          if (p != MountPropagation.PROPAGATION_PRIVATE) {
            throw BerthException.invalidArgument("recursive read-only mount needs private propagation (hostPath=%s)",
                m.getHostPath());
          }
          opts.add("ro"); // every mount below is read-only already
        } else if (m.getRecursiveReadOnly()) {
          if (!options.recursiveReadOnlyMounts()) {
            throw BerthException.invalidArgument(
                "runtime handler %s does not support recursive read-only mounts (hostPath=%s)", options.handler(),
                m.getHostPath());
          }
          if (p != MountPropagation.PROPAGATION_PRIVATE) {
            throw BerthException.invalidArgument("recursive read-only mount needs private propagation (hostPath=%s)",
                m.getHostPath());
          }
          opts.add("rro");
        } else {
          opts.add("ro");
        }
      } else {
        if (m.getRecursiveReadOnly()) {
          throw BerthException.invalidArgument("recursive read-only mount conflicts with RW mount (hostPath=%s)",
              m.getHostPath());
        }
        opts.add("rw");
      }
      out.add(new RuntimeSpec.Mount(cleanPath(m.getContainerPath()), "bind", src.toString(), opts));
    }
    return new MountsResult(out, propagation);
  }

  /** containerd's default mounts without /run, plus the cgroup mount; sysfs and cgroup rw when privileged. */
  static List<RuntimeSpec.Mount> defaultMounts(boolean privileged, boolean cgroupMount) {
    String sysMode = privileged ? "rw" : "ro";
    List<RuntimeSpec.Mount> m = new ArrayList<>();
    m.add(new RuntimeSpec.Mount("/proc", "proc", "proc", List.of("nosuid", "noexec", "nodev")));
    m.add(new RuntimeSpec.Mount("/dev", "tmpfs", "tmpfs", List.of("nosuid", "strictatime", "mode=755", "size=65536k")));
    m.add(new RuntimeSpec.Mount("/dev/pts", "devpts", "devpts",
        List.of("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5")));
    m.add(new RuntimeSpec.Mount("/dev/shm", "tmpfs", "shm",
        List.of("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")));
    m.add(new RuntimeSpec.Mount("/dev/mqueue", "mqueue", "mqueue", List.of("nosuid", "noexec", "nodev")));
    m.add(new RuntimeSpec.Mount("/sys", "sysfs", "sysfs", List.of("nosuid", "noexec", "nodev", sysMode)));
    if (cgroupMount) {
      m.add(new RuntimeSpec.Mount("/sys/fs/cgroup", "cgroup", "cgroup",
          List.of("nosuid", "noexec", "nodev", "relatime", sysMode)));
    }
    return m;
  }

  private void addDevice(Device d, List<RuntimeSpec.Device> devices, List<RuntimeSpec.DeviceCgroup> rules) {
    String perms = d.getPermissions().isEmpty() ? "rwm" : d.getPermissions();
    if (!perms.matches("[rwm]{1,3}")) {
      throw BerthException.invalidArgument("invalid device permissions %s", perms);
    }
    if (!d.getHostPath().startsWith("/")) {
      throw BerthException.invalidArgument("device host path %s must be absolute", d.getHostPath());
    }
    String containerPath = d.getContainerPath().isEmpty() ? d.getHostPath() : d.getContainerPath();
    if (!containerPath.startsWith("/") || List.of(containerPath.split("/")).contains("..")) {
      throw BerthException.invalidArgument("invalid device container path %s", containerPath);
    }
    RuntimeSpec.Device node = host.device(Path.of(d.getHostPath())).orElseThrow(
        () -> BerthException.invalidArgument("%s is not a device node", d.getHostPath()));
    devices.add(new RuntimeSpec.Device(cleanPath(containerPath), node.type(), node.major(), node.minor(),
        node.fileMode(), node.uid(), node.gid()));
    rules.add(new RuntimeSpec.DeviceCgroup(true, node.type(), node.major(), node.minor(), perms));
  }

  /** CRI resources to OCI resources, as containerd's WithResources. */
  static RuntimeSpec.Resources resources(LinuxContainerResources r, RuntimeOptions options,
      List<RuntimeSpec.DeviceCgroup> deviceRules) {
    Long shares = r.getCpuShares() != 0 ? r.getCpuShares() : null;
    Long quota = r.getCpuQuota() != 0 ? r.getCpuQuota() : null;
    Long period = r.getCpuPeriod() != 0 ? r.getCpuPeriod() : null;
    String cpus = r.getCpusetCpus().isEmpty() ? null : r.getCpusetCpus();
    String mems = r.getCpusetMems().isEmpty() ? null : r.getCpusetMems();
    if (cpus != null && !cpus.matches("[0-9,\\-]+") || mems != null && !mems.matches("[0-9,\\-]+")) {
      throw BerthException.invalidArgument("invalid cpuset %s / %s", cpus, mems);
    }
    RuntimeSpec.Cpu cpu = shares == null && quota == null && period == null && cpus == null && mems == null ? null
        : new RuntimeSpec.Cpu(shares, quota, period, cpus, mems);
    Long limit = r.getMemoryLimitInBytes() != 0 ? r.getMemoryLimitInBytes() : null;
    Long swap = null;
    if (options.swapController()) {
      if (r.getMemorySwapLimitInBytes() != 0) {
        swap = r.getMemorySwapLimitInBytes();
      } else if (limit != null) {
        swap = limit; // no swapping beyond the limit by default
      }
    }
    RuntimeSpec.Memory memory = limit == null && swap == null ? null : new RuntimeSpec.Memory(limit, null, swap);
    List<RuntimeSpec.HugepageLimit> huge = null;
    if (options.hugetlbController() && r.getHugepageLimitsCount() > 0) {
      huge = new ArrayList<>();
      for (HugepageLimit h : r.getHugepageLimitsList()) {
        if (!h.getPageSize().matches("[0-9]+[KMG]B")) {
          throw BerthException.invalidArgument("invalid hugepage size %s", h.getPageSize());
        }
        huge.add(new RuntimeSpec.HugepageLimit(h.getPageSize(), h.getLimit()));
      }
    }
    Map<String, String> unified = null;
    if (!r.getUnifiedMap().isEmpty()) {
      if (!options.cgroupV2()) {
        throw BerthException.invalidArgument("unified cgroup resources need cgroup v2");
      }
      unified = new TreeMap<>();
      for (Map.Entry<String, String> e : r.getUnifiedMap().entrySet()) {
        if (e.getKey().contains("/") || e.getKey().startsWith(".")) {
          throw BerthException.invalidArgument("invalid unified cgroup key %s", e.getKey());
        }
        unified.put(e.getKey(), e.getValue());
      }
    }
    return new RuntimeSpec.Resources(deviceRules, memory, cpu, null, huge, unified);
  }

  /** The seccomp filter for a CRI profile; {@code null} means unconfined. */
  RuntimeSpec.Seccomp seccomp(SecurityProfile profile, String deprecatedPath, List<String> caps) {
    if (profile == null) {
      // The deprecated string form, as containerd's GenerateSeccompSecurityProfile reads it.
      if (deprecatedPath.isEmpty() || deprecatedPath.equals("unconfined")) {
        return null;
      }
      if (deprecatedPath.equals("runtime/default") || deprecatedPath.equals("docker/default")) {
        return SeccompProfiles.runtimeDefault(caps, host.arch());
      }
      if (deprecatedPath.startsWith("localhost/")) {
        return localhost(deprecatedPath.substring("localhost/".length()));
      }
      throw BerthException.invalidArgument("unknown seccomp profile %s", deprecatedPath);
    }
    return switch (profile.getProfileType()) {
      case RuntimeDefault -> SeccompProfiles.runtimeDefault(caps, host.arch());
      case Unconfined -> null;
      case Localhost -> localhost(profile.getLocalhostRef());
      default -> throw BerthException.invalidArgument("unknown seccomp profile type");
    };
  }

  private RuntimeSpec.Seccomp localhost(String ref) {
    if (!ref.startsWith("/")) {
      throw BerthException.invalidArgument("localhost seccomp profile %s must be an absolute path", ref);
    }
    return SeccompProfiles.parse(host.readFile(Path.of(ref)), ref);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Infra

  /**
   * The spec of a pod's infra process: catatonit in pause mode ({@code /catatonit -P}) on a read-only rootfs holding
   * only the (static) binary, or a pause image's process on that image's read-only rootfs; as user 65535 (the pause
   * image's own), with no capabilities and the default seccomp profile. It
   * creates the pod's IPC, UTS and PID namespaces (unless the pod uses the host's) and joins the pinned network
   * namespace.
   */
  public RuntimeSpec infraSpec(InfraRequest r) {
    SandboxInfo sandbox = r.sandbox();
    PodSandboxConfig pod = sandbox.config();
    requireId(sandbox.id(), "sandbox");
    LinuxSandboxSecurityContext podSc = pod.getLinux().getSecurityContext();
    NamespaceMode net = podSc.getNamespaceOptions().getNetwork();
    NamespaceMode ipc = podSc.getNamespaceOptions().getIpc();
    NamespaceMode pid = podSc.getNamespaceOptions().getPid();
    Optional<PodUserNamespace> userns = PodUserNamespace.of(podSc.getNamespaceOptions());
    if (userns.isPresent() && (sandbox.usernsPath() == null || sandbox.ipcPath() == null
        || sandbox.utsPath() == null)) {
      throw BerthException.invalidArgument("sandbox %s needs pinned user, IPC and UTS namespaces", sandbox.id());
    }
    Map<String, String> sysctls = Sysctls.validate(pod.getLinux().getSysctlsMap(), net == NamespaceMode.NODE,
        ipc == NamespaceMode.NODE);
    String hostname = null;
    if (net != NamespaceMode.NODE && !pod.getHostname().isEmpty()) {
      if (!pod.getHostname().matches("[A-Za-z0-9]([-A-Za-z0-9.]{0,62})?")) {
        throw BerthException.invalidArgument("invalid hostname %s", pod.getHostname());
      }
      hostname = pod.getHostname();
    }

    RuntimeSpec.Capabilities noCaps = new RuntimeSpec.Capabilities(List.of(), List.of(), List.of(), List.of(),
        List.of());
    int oom = Math.max(SANDBOX_OOM_SCORE_ADJ, r.options().minOomScoreAdj());
    // In a user namespace too small to map 65535, the infra runs as the namespace's root (no host privilege).
    long infraUid = userns.map(u -> u.uids().maps(INFRA_UID) ? INFRA_UID : 0L).orElse(INFRA_UID);
    long infraGid = userns.map(u -> u.gids().maps(INFRA_UID) ? INFRA_UID : 0L).orElse(INFRA_UID);
    RuntimeSpec.Process process = new RuntimeSpec.Process(false,
        new RuntimeSpec.User(infraUid, infraGid, List.of(infraGid)),
        r.catatonit() != null ? List.of(INFRA_BINARY, "-P") : r.command(),
        List.of(DEFAULT_PATH), "/", noCaps, null, true, oom, null, null);

    List<RuntimeSpec.Namespace> namespaces = new ArrayList<>();
    if (userns.isPresent()) {
      // The pod's user, IPC and UTS namespaces are pinned (owned by the user namespace); the PID namespace the
      // runtime creates after joining the user namespace is owned by it as well.
      namespaces.add(new RuntimeSpec.Namespace("user", sandbox.usernsPath().toString()));
      hostname = null; // set in the pinned UTS namespace already
    }
    if (pid != NamespaceMode.NODE) {
      namespaces.add(new RuntimeSpec.Namespace("pid", r.options().gvisor() ? gvisorPidNamespace(sandbox.id()) : null));
    }
    if (ipc != NamespaceMode.NODE) {
      namespaces.add(new RuntimeSpec.Namespace("ipc", userns.isPresent() ? sandbox.ipcPath().toString() : null));
    }
    if (net != NamespaceMode.NODE) {
      namespaces.add(new RuntimeSpec.Namespace("uts", userns.isPresent() ? sandbox.utsPath().toString() : null));
      if (sandbox.netnsPath() == null) {
        throw BerthException.invalidArgument("sandbox %s needs a network namespace path", sandbox.id());
      }
      namespaces.add(new RuntimeSpec.Namespace("network", sandbox.netnsPath().toString()));
    }
    namespaces.add(new RuntimeSpec.Namespace("mount", null));
    if (r.options().cgroupV2()) {
      namespaces.add(new RuntimeSpec.Namespace("cgroup", null));
    }

    List<RuntimeSpec.Mount> mounts = new ArrayList<>();
    for (RuntimeSpec.Mount m : defaultMounts(false, false)) {
      if (m.destination().equals("/dev/shm") && (sandbox.shmDir() != null || ipc == NamespaceMode.NODE)) {
        Path src = ipc == NamespaceMode.NODE ? Path.of("/dev/shm") : sandbox.shmDir();
        List<String> opts = new ArrayList<>(List.of("rbind", "rprivate", "rw"));
        if (userns.isPresent()) {
          opts.addAll(host.lockedMountFlags(src));
        }
        mounts.add(new RuntimeSpec.Mount("/dev/shm", "bind", src.toString(), opts));
      } else {
        mounts.add(m);
      }
    }
    if (r.catatonit() != null) {
      mounts.add(new RuntimeSpec.Mount(INFRA_BINARY, "bind", r.catatonit().toString(),
          List.of("bind", "ro", "nosuid", "nodev")));
    }

    // A gVisor sandbox runs in its infra container's cgroup with every container of the pod: no pause-sized CPU
    // weight and no device rules for it (the KVM platform opens /dev/kvm); the pod's own cgroup (the parent) limits it.
    List<RuntimeSpec.DeviceCgroup> rules = List.of(new RuntimeSpec.DeviceCgroup(false, null, null, null, "rwm"));
    RuntimeSpec.Resources resources = r.options().gvisor() ? null : new RuntimeSpec.Resources(rules, null,
        new RuntimeSpec.Cpu(SANDBOX_CPU_SHARES, null, null, null, null), null, null, null);

    Map<String, String> annotations = new TreeMap<>();
    annotations.put(CriAnnotations.CONTAINER_TYPE, CriAnnotations.CONTAINER_TYPE_SANDBOX);
    annotations.put(CriAnnotations.SANDBOX_ID, sandbox.id());
    annotations.put(CriAnnotations.SANDBOX_NAME, pod.getMetadata().getName());
    annotations.put(CriAnnotations.SANDBOX_NAMESPACE, pod.getMetadata().getNamespace());
    annotations.put(CriAnnotations.SANDBOX_UID, pod.getMetadata().getUid());
    annotations.put(CriAnnotations.SANDBOX_LOG_DIRECTORY, pod.getLogDirectory());

    RuntimeSpec.Linux linux = new RuntimeSpec.Linux(sysctls.isEmpty() ? null : sysctls, resources,
        cgroupsPath(pod.getLinux().getCgroupParent(), sandbox.id(), r.options().cgroupDriver()), namespaces, null,
        SeccompProfiles.runtimeDefault(List.of(), host.arch()), null, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS,
        userns.map(u -> idMappings(u.uids())).orElse(null), userns.map(u -> idMappings(u.gids())).orElse(null));
    return new RuntimeSpec(RuntimeSpec.OCI_VERSION, process, new RuntimeSpec.Root(r.rootfs().toString(), true),
        hostname, mounts, annotations, linux);
  }

  /**
   * Creates the infra rootfs: an otherwise empty directory with mount points for /proc, /dev, /sys and the
   * catatonit binary. catatonit is static (Debian's), so it needs no libraries. Idempotent.
   */
  public static void prepareInfraRootfs(Path dir) {
    try {
      Files.createDirectories(dir);
      for (String d : List.of("proc", "dev", "sys")) {
        Files.createDirectories(dir.resolve(d));
      }
      Path bin = dir.resolve(INFRA_BINARY.substring(1));
      if (!Files.exists(bin)) {
        Files.createFile(bin, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("r-xr-xr-x")));
      }
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot prepare infra rootfs %s", dir);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Helpers

  /**
   * The cgroups path of a container or sandbox: {@code <parent>/berth-<id>} for cgroupfs ({@code /berth} when the
   * pod has no parent); {@code <slice>:berth:<id>} for the systemd driver.
   */
  public static String cgroupsPath(String parent, String id, String driver) {
    if (RuntimeOptions.SYSTEMD.equals(driver)) {
      String slice = parent.isEmpty() ? "system.slice" : Path.of(parent).getFileName().toString();
      if (!slice.endsWith(".slice")) {
        throw BerthException.invalidArgument("cgroup parent %s is not a systemd slice", parent);
      }
      return slice + ":berth:" + id;
    }
    String p = parent.isEmpty() ? "/berth" : cleanPath(parent.startsWith("/") ? parent : "/" + parent);
    if (List.of(parent.split("/")).contains("..")) {
      throw BerthException.invalidArgument("invalid cgroup parent %s", parent);
    }
    return (p.equals("/") ? "" : p) + "/berth-" + id;
  }

  /**
   * The PID namespace "path" of a gVisor container: a name, not a file. runsc never opens it; the sandbox kernel
   * puts a sub-container into the PID namespace of the container whose spec named the same path, else into a new
   * one (runsc/boot/loader.go, startSubcontainer). Host paths would not do: a pod-shared namespace must be the
   * infra container's, whose spec is written before its sandbox (and pid) exist, and the sandbox process's
   * {@code /proc/<pid>/ns/pid} would make the pod's first app container the namespace's init, so that once it
   * exits no further container could start (ENOMEM, "creating process: out of memory").
   *
   * @param id the sandbox id (pod-shared namespace) or the container id (its own, which TARGET mode names)
   */
  public static String gvisorPidNamespace(String id) {
    return "/berth-gvisor-pidns/" + id;
  }

  private static String nsPath(int pid, String ns) {
    return pid > 0 ? "/proc/" + pid + "/ns/" + ns : null;
  }

  private static void requireId(String id, String what) {
    if (id == null || !id.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")) {
      throw BerthException.invalidArgument("invalid %s id %s", what, id);
    }
  }

  static String cleanPath(String p) {
    List<String> parts = new ArrayList<>();
    for (String s : p.split("/")) {
      if (s.isEmpty() || s.equals(".")) {
        continue;
      }
      if (s.equals("..")) {
        if (!parts.isEmpty()) {
          parts.removeLast();
        }
        continue;
      }
      parts.add(s);
    }
    return "/" + String.join("/", parts);
  }

  private static int depth(String cleaned) {
    return cleaned.equals("/") ? 0 : (int) cleaned.chars().filter(c -> c == '/').count();
  }

  private static long clamp(long v, long lo, long hi) {
    return Math.max(lo, Math.min(hi, v));
  }
}
