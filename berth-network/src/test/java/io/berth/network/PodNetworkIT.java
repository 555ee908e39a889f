package io.berth.network;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.core.BerthException;
import io.berth.core.ErrorKind;
import io.berth.linux.LinuxException;
import io.berth.linux.Syscalls;
import io.berth.network.PodNetwork.NetNs;
import io.berth.network.PodNetwork.PodNetworkRequest;
import io.berth.network.PodNetwork.PodNetworkStatus;
import io.berth.network.PodNetwork.PortMapping;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Real CNI plugins from /usr/lib/cni (bridge, host-local, portmap) on a test bridge with its own subnet,
 * namespaces pinned under a temp dir. Needs root.
 */
class PodNetworkIT {
  private static final Path SYSTEM_PLUGINS = Path.of("/usr/lib/cni");

  private Path root;
  private Path confDir;
  private Path pluginDir;
  private Path ipamDir;
  private String bridge;
  private String subnetPrefix;
  private String networkName;
  private NetworkConfig config;
  private PodNetwork network;
  private final List<PodNetworkRequest> pods = new ArrayList<>();
  private final List<NetNs> namespaces = new ArrayList<>();
  private final List<Process> processes = new ArrayList<>();

  @BeforeEach
  void setUp() throws IOException {
    assertThat(Syscalls.geteuid()).as("CNI plugins and netns pinning need root").isZero();
    assertThat(SYSTEM_PLUGINS.resolve("bridge")).as("containernetworking-plugins installed").isExecutable();
    root = Files.createTempDirectory(Path.of("/tmp"), "berth-it-network-");
    confDir = Files.createDirectory(root.resolve("net.d"));
    pluginDir = Files.createDirectory(root.resolve("plugins"));
    ipamDir = root.resolve("ipam");
    String suffix = HexFormat.of().formatHex(randomBytes(4));
    bridge = "bt" + suffix;
    networkName = "berth-it-" + suffix;
    subnetPrefix = "10.199." + ThreadLocalRandom.current().nextInt(1, 255) + ".";
    writeConflist("10-test.conflist", "");
    config = new NetworkConfig(List.of(confDir), List.of(pluginDir, SYSTEM_PLUGINS), root.resolve("netns"),
        root.resolve("cni-cache"), Duration.ofSeconds(60));
    network = PodNetwork.create(config);
  }

  @AfterEach
  void tearDown() throws Exception {
    try {
      processes.forEach(p -> {
        p.destroyForcibly();
        try {
          p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      PodNetwork cleaner = PodNetwork.create(config);
      for (PodNetworkRequest pod : pods) {
        try {
          cleaner.tearDown(pod);
        } catch (RuntimeException e) {
          System.err.println("cleanup tearDown failed: " + e.getMessage());
        }
      }
      namespaces.forEach(cleaner::removeNetns);
      run("ip", "link", "del", bridge);
      try {
        Syscalls.umount2(root.resolve("netns").toString(), Syscalls.MNT_DETACH);
      } catch (LinuxException e) {
        // never made a mount point
      }
    } finally {
      assertThat(mountsUnder(root)).as("mounts left under %s", root).isEmpty();
      try (Stream<Path> s = Files.walk(root)) {
        s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------

  @Test
  void setUp_bridgeNetwork_eth0HasIpInSubnetAndLoIsUp() throws Exception {
    NetNs ns = netns();
    PodNetworkStatus st = network.setUp(pod(ns, List.of()));

    assertThat(st.ip()).startsWith(subnetPrefix);
    assertThat(st.interfaceName()).isEqualTo("eth0");
    assertThat(st.result().routes()).extracting(CniResult.Route::dst).contains("0.0.0.0/0");
    assertThat(inNetns(ns, "ip", "-o", "-4", "addr", "show", "dev", "eth0")).contains("inet " + st.ip() + "/24");
    assertThat(inNetns(ns, "ip", "-o", "link", "show", "lo")).contains("UP");
    assertThat(inNetns(ns, "ip", "-o", "-4", "addr", "show", "dev", "lo")).contains("127.0.0.1/8");
    assertThat(ipamAllocations()).containsExactly(st.ip());
    assertThat(bridgePorts()).hasSize(1);

    network.check(pods.getLast());
    assertThatThrownBy(() -> network.setUp(pods.getLast()))
        .extracting(e -> ((BerthException) e).kind()).isEqualTo(ErrorKind.ALREADY_EXISTS);
    assertThat(inNetns(ns, "ip", "-o", "-4", "addr", "show", "dev", "eth0")).contains("inet " + st.ip() + "/24");
  }

  @Test
  void setUp_twoPods_differentIpsThatReachEachOther() throws Exception {
    NetNs a = netns();
    NetNs b = netns();
    PodNetworkStatus sa = network.setUp(pod(a, List.of()));
    PodNetworkStatus sb = network.setUp(pod(b, List.of()));
    assertThat(sa.ip()).isNotEqualTo(sb.ip());
    assertThat(sb.ip()).startsWith(subnetPrefix);

    assertThat(run("nsenter", "--net=" + a.path(), "busybox", "ping", "-c", "1", "-W", "5", sb.ip()).code())
        .as("ping from pod a to pod b").isZero();
    listen(b, 8080, "hello-from-b");
    assertThat(connect(a, sb.ip(), 8080)).contains("hello-from-b");
  }

  @Test
  void interfaceStats_pingBetweenPods_countersMatchTheKernelsInEachNamespace() throws Exception {
    NetNs a = netns();
    NetNs b = netns();
    network.setUp(pod(a, List.of()));
    PodNetworkStatus sb = network.setUp(pod(b, List.of()));
    Path gone = root.resolve("netns-never-made");

    assertThat(run("nsenter", "--net=" + a.path(), "busybox", "ping", "-c", "3", "-s", "1000", "-W", "5", sb.ip())
        .code()).isZero();

    Map<Path, List<PodNetwork.InterfaceStats>> stats = network.interfaceStats(List.of(a.path(), b.path(), gone));
    assertThat(stats).containsOnlyKeys(a.path(), b.path());
    PodNetwork.InterfaceStats eth0 = stats.get(a.path()).stream().filter(i -> i.name().equals("eth0")).findFirst()
        .orElseThrow();
    assertThat(eth0.txBytes()).as("three 1000-byte pings sent").isGreaterThanOrEqualTo(3 * 1000);
    assertThat(eth0.txPackets()).isGreaterThanOrEqualTo(3);
    assertThat(stats.get(a.path())).extracting(PodNetwork.InterfaceStats::name).contains("lo", "eth0");
    // the same table the kernel shows a process in that namespace (nothing else sends there meanwhile but IPv6
    // chatter, so compare the fields ping moved, read right after)
    String kernel = inNetns(a, "cat", "/proc/net/dev");
    PodNetwork.InterfaceStats fromKernel = NetDevReader.parse(kernel).stream().filter(i -> i.name().equals("eth0"))
        .findFirst().orElseThrow();
    assertThat(fromKernel.txBytes()).isGreaterThanOrEqualTo(eth0.txBytes());
    assertThat(fromKernel.rxBytes()).isGreaterThanOrEqualTo(eth0.rxBytes());
    assertThat(stats.get(b.path()).stream().filter(i -> i.name().equals("eth0")).findFirst().orElseThrow().rxBytes())
        .as("pod b received the pings").isGreaterThanOrEqualTo(3 * 1000);
    assertThat(threadNetns()).as("every JVM thread is back in (or never left) the host's netns")
        .containsOnly(Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString());
  }

  @Test
  void setUp_portMapping_hostLoopbackReachesPod_tearDownRemovesRules() throws Exception {
    int hostPort = 20000 + ThreadLocalRandom.current().nextInt(20000);
    NetNs ns = netns();
    PodNetworkRequest req = pod(ns, List.of(new PortMapping("tcp", 8080, hostPort, "")));
    network.setUp(req);
    assertThat(natRulesOf(req.sandboxId())).as("portmap rules for the pod").isNotEmpty();

    listen(ns, 8080, "hello-via-hostport");
    assertThat(connect(null, "127.0.0.1", hostPort)).contains("hello-via-hostport");

    network.tearDown(req);
    assertThat(natRulesOf(req.sandboxId())).isEmpty();
    assertThat(bridgePorts()).isEmpty();
    assertThat(ipamAllocations()).isEmpty();
    network.tearDown(req); // idempotent
  }

  @Test
  void tearDownAndRemoveNetns_leaveNoVethIpMountOrFile() throws Exception {
    NetNs ns = netns();
    PodNetworkRequest req = pod(ns, List.of());
    network.setUp(req);
    assertThat(mountsUnder(ns.path())).hasSize(1);

    network.tearDown(req);
    assertThat(bridgePorts()).isEmpty();
    assertThat(ipamAllocations()).isEmpty();
    assertThat(config.cacheDir().resolve(req.sandboxId())).doesNotExist();

    network.removeNetns(ns);
    assertThat(mountsUnder(ns.path())).isEmpty();
    assertThat(ns.path()).doesNotExist();
    network.removeNetns(ns); // idempotent
  }

  @Test
  void createNetns_newNamespace_jvmThreadsStayInHostNamespace() throws Exception {
    String host = Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
    NetNs ns = netns();
    assertThat(network.netnsExists(ns)).isTrue();
    assertThat(inNetns(ns, "readlink", "/proc/self/ns/net").strip()).startsWith("net:[").isNotEqualTo(host);
    try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
      for (Path task : tasks.toList()) {
        try {
          assertThat(Files.readSymbolicLink(task.resolve("ns/net")).toString()).as("thread %s", task).isEqualTo(host);
        } catch (java.nio.file.NoSuchFileException gone) {
          // thread ended meanwhile
        }
      }
    }
    assertThat(inNetns(ns, "ip", "-o", "link", "show", "lo")).as("lo up without any plugin").contains(",UP,");
    assertThat(inNetns(ns, "ip", "-o", "addr", "show", "dev", "lo")).contains("127.0.0.1/8");
    network.removeNetns(ns);
    assertThat(network.netnsExists(ns)).isFalse();
    assertThat(mountsUnder(ns.path())).isEmpty();
  }

  @Test
  void removeNetns_copyInSlaveMountNamespace_unmountPropagates() throws Exception {
    NetNs ns = netns();
    String ourMnt = Files.readSymbolicLink(Path.of("/proc/self/ns/mnt")).toString();
    // As runc does for a container (rootfsPropagation rslave): a mount namespace holding a copy of the pin.
    Process p = new ProcessBuilder("unshare", "-m", "--propagation", "slave", "sleep", "600")
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    processes.add(p);
    Path mountinfo = Path.of("/proc/" + p.pid() + "/mountinfo");
    for (int i = 0; i < 100 && (!p.isAlive()
        || Files.readSymbolicLink(Path.of("/proc/" + p.pid() + "/ns/mnt")).toString().equals(ourMnt)); i++) {
      Thread.sleep(50);
    }
    assertThat(Files.readString(mountinfo)).contains(ns.path().toString());
    NetNs later = netns();
    assertThat(Files.readString(mountinfo)).as("a pin made later propagates into the copy too")
        .contains(later.path().toString());

    network.removeNetns(ns);
    assertThat(Files.readString(mountinfo)).doesNotContain(ns.path().toString());
  }

  @Test
  void setUp_failingPlugin_errorCarriesItsMessageAndNothingIsLeft() throws Exception {
    plugin("failer", """
        cat >/dev/null
        if [ "$CNI_COMMAND" = "ADD" ]; then
          echo '{"cniVersion":"1.0.0","code":100,"msg":"failer refuses","details":"by design"}'
          exit 1
        fi
        exit 0
        """);
    writeConflist("10-test.conflist", ",{\"type\":\"failer\"}");
    NetNs ns = netns();
    PodNetworkRequest req = pod(ns, List.of(new PortMapping("tcp", 80, 20000 + ThreadLocalRandom.current()
        .nextInt(20000), "")));

    assertThatThrownBy(() -> network.setUp(req))
        .isInstanceOf(BerthException.class)
        .hasMessageContaining("CNI plugin failer ADD failed: failer refuses: by design")
        .hasMessageContaining(req.sandboxId())
        .extracting(e -> ((BerthException) e).kind()).isEqualTo(ErrorKind.UNAVAILABLE);

    assertThat(bridgePorts()).as("veth left on the bridge").isEmpty();
    assertThat(ipamAllocations()).as("IP left allocated").isEmpty();
    assertThat(natRulesOf(req.sandboxId())).as("iptables rules left").isEmpty();
    assertThat(config.cacheDir().resolve(req.sandboxId())).doesNotExist();
    assertThat(inNetns(ns, "ip", "-o", "link")).doesNotContain("eth0");
    network.removeNetns(ns);
    assertThat(mountsUnder(ns.path())).isEmpty();
  }

  @Test
  void setUp_noLoopbackPluginRuns_onlyEth0IsAttached() throws Exception {
    // A loopback plugin of the test's own, found before the system's: it would leave a trace if it ran.
    Path ran = root.resolve("loopback-ran");
    plugin("loopback", "cat >/dev/null; touch " + ran + "; exit 1\n");
    NetNs ns = netns();
    PodNetworkStatus st = network.setUp(pod(ns, List.of()));

    assertThat(ran).doesNotExist();
    try (Stream<Path> cached = Files.list(config.cacheDir().resolve(ns.sandboxId()))) {
      assertThat(cached.map(p -> p.getFileName().toString()).toList()).as("CNI attachments recorded")
          .containsExactly("eth0.json");
    }
    assertThat(inNetns(ns, "ip", "-o", "link", "show", "lo")).contains(",UP,");
    assertThat(inNetns(ns, "busybox", "ping", "-c", "1", "-W", "2", "127.0.0.1")).contains("1 packets received");
    network.tearDown(pods.getLast());
    assertThat(ran).doesNotExist();
    assertThat(ipamAllocations()).doesNotContain(st.ip());
  }

  @Test
  void adoptNetns_namespaceOfAProcess_pinnedWithLoUp() throws Exception {
    Process p = new ProcessBuilder("unshare", "-n", "sleep", "600")
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    processes.add(p);
    String host = Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
    Path nsFile = Path.of("/proc/" + p.pid() + "/ns/net");
    for (int i = 0; i < 100 && Files.readSymbolicLink(nsFile).toString().equals(host); i++) {
      Thread.sleep(50);
    }
    NetNs ns = network.adoptNetns("sb" + HexFormat.of().formatHex(randomBytes(15)), nsFile);
    namespaces.add(ns);

    assertThat(inNetns(ns, "readlink", "/proc/self/ns/net").strip()).isEqualTo(Files.readSymbolicLink(nsFile)
        .toString());
    assertThat(inNetns(ns, "ip", "-o", "link", "show", "lo")).contains(",UP,");
    assertThat(threadNetns()).as("every JVM thread back in the host's netns").containsOnly(host);
  }

  @Test
  void tearDown_afterRestartWithConfigGone_usesCachedConfigAndResult() throws Exception {
    int hostPort = 20000 + ThreadLocalRandom.current().nextInt(20000);
    NetNs ns = netns();
    PodNetworkRequest req = pod(ns, List.of(new PortMapping("tcp", 8080, hostPort, "")));
    PodNetworkStatus st = network.setUp(req);
    assertThat(natRulesOf(req.sandboxId())).isNotEmpty();
    // portmap 1.1.1 fails CHECK of IPv4-only pods with port mappings (containernetworking/plugins#819), so CHECK
    // after the restart is shown on a pod without them.
    PodNetworkRequest plain = pod(netns(), List.of());
    network.setUp(plain);

    Files.delete(confDir.resolve("10-test.conflist"));
    PodNetwork restarted = PodNetwork.create(config);
    assertThat(restarted.status().ready()).isFalse();
    assertThat(restarted.cachedStatus(req.sandboxId()).orElseThrow().ip()).isEqualTo(st.ip());
    restarted.check(plain);
    restarted.tearDown(plain);

    PodNetworkRequest withoutDetails = new PodNetworkRequest(req.sandboxId(), "", "", "", req.netns(), List.of(),
        Map.of(), Optional.empty());
    restarted.tearDown(withoutDetails);
    assertThat(natRulesOf(req.sandboxId())).isEmpty();
    assertThat(bridgePorts()).isEmpty();
    assertThat(ipamAllocations()).isEmpty();
    assertThat(restarted.cachedStatus(req.sandboxId())).isEmpty();
  }

  @Test
  void tearDown_netnsAlreadyRemoved_releasesIpAndRules() throws Exception {
    int hostPort = 20000 + ThreadLocalRandom.current().nextInt(20000);
    NetNs ns = netns();
    PodNetworkRequest req = pod(ns, List.of(new PortMapping("tcp", 8080, hostPort, "")));
    network.setUp(req);
    network.removeNetns(ns);

    network.tearDown(req);
    assertThat(ipamAllocations()).isEmpty();
    assertThat(natRulesOf(req.sandboxId())).isEmpty();
    assertThat(bridgePorts()).isEmpty();
  }

  @Test
  void tearDown_neverSetUp_isNoOp() {
    network.tearDown(new PodNetworkRequest("never-set-up", "p", "ns", "u", Optional.empty(), List.of(), Map.of(),
        Optional.empty()));
  }

  @Test
  void status_readyOnlyWithConfigAndPlugins() throws IOException {
    assertThat(network.status()).isEqualTo(PodNetwork.Status.ok());
    assertThat(network.networkName()).contains(networkName);

    writeConflist("10-test.conflist", ",{\"type\":\"not-installed\"}");
    assertThat(network.status().ready()).isFalse();
    assertThat(network.status().message()).contains("not-installed");

    Files.delete(confDir.resolve("10-test.conflist"));
    assertThat(network.status().ready()).isFalse();
    assertThat(network.status().message()).contains("no CNI network config found");
    NetNs ns = netns();
    assertThatThrownBy(() -> network.setUp(pod(ns, List.of())))
        .extracting(e -> ((BerthException) e).kind()).isEqualTo(ErrorKind.UNAVAILABLE);
  }

  // ---------------------------------------------------------------------------------------------------------------

  private void writeConflist(String file, String extraPlugins) throws IOException {
    Files.writeString(confDir.resolve(file), """
        {"cniVersion":"1.0.0","name":"%s","plugins":[
          {"type":"bridge","bridge":"%s","isGateway":true,"ipMasq":false,"hairpinMode":true,
           "ipam":{"type":"host-local","ranges":[[{"subnet":"%s0/24"}]],"routes":[{"dst":"0.0.0.0/0"}],
                   "dataDir":"%s"}},
          {"type":"portmap","capabilities":{"portMappings":true}}%s]}
        """.formatted(networkName, bridge, subnetPrefix, ipamDir, extraPlugins));
  }

  private void plugin(String name, String body) throws IOException {
    Path p = pluginDir.resolve(name);
    Files.writeString(p, "#!/bin/sh\n" + body);
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private NetNs netns() {
    NetNs ns = network.createNetns("sb" + HexFormat.of().formatHex(randomBytes(15)));
    namespaces.add(ns);
    return ns;
  }

  private PodNetworkRequest pod(NetNs ns, List<PortMapping> ports) {
    PodNetworkRequest req = new PodNetworkRequest(ns.sandboxId(), "pod-" + pods.size(), "berth-it",
        "uid-" + ns.sandboxId(), Optional.of(ns), ports, Map.of(), Optional.empty());
    pods.add(req);
    return req;
  }

  private void listen(NetNs ns, int port, String greeting) throws IOException {
    Process p = new ProcessBuilder("nsenter", "--net=" + ns.path(), "busybox", "nc", "-l", "-p",
        Integer.toString(port), "-e", "echo", greeting)
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    processes.add(p);
  }

  /** Connects until the listener answers (it may not be listening yet); null netns means the host. */
  private String connect(NetNs from, String ip, int port) throws Exception {
    List<String> cmd = new ArrayList<>();
    if (from != null) {
      cmd.addAll(List.of("nsenter", "--net=" + from.path()));
    }
    cmd.addAll(List.of("busybox", "nc", "-w", "5", ip, Integer.toString(port)));
    Out last = null;
    for (int i = 0; i < 100; i++) {
      last = run(cmd.toArray(String[]::new));
      if (last.code() == 0 && !last.out().isBlank()) {
        return last.out();
      }
      Thread.sleep(100);
    }
    return last.out();
  }

  private String inNetns(NetNs ns, String... cmd) throws Exception {
    List<String> all = new ArrayList<>(List.of("nsenter", "--net=" + ns.path()));
    all.addAll(List.of(cmd));
    Out out = run(all.toArray(String[]::new));
    assertThat(out.code()).as("%s: %s", all, out.out()).isZero();
    return out.out();
  }

  private static List<String> threadNetns() throws IOException {
    List<String> out = new ArrayList<>();
    try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
      for (Path t : tasks.toList()) {
        try {
          out.add(Files.readSymbolicLink(t.resolve("ns/net")).toString());
        } catch (IOException e) {
          // the thread ended meanwhile
        }
      }
    }
    return out;
  }

  private List<String> bridgePorts() throws Exception {
    return run("ip", "-o", "link", "show", "master", bridge).out().lines().filter(l -> !l.isBlank()).toList();
  }

  /** Allocated addresses: host-local keeps one file per IP, named after it. */
  private List<String> ipamAllocations() throws IOException {
    Path d = ipamDir.resolve(networkName);
    if (!Files.isDirectory(d)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(d)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(subnetPrefix)).toList();
    }
  }

  private static List<String> natRulesOf(String containerId) throws Exception {
    Out out = run("iptables-save");
    assertThat(out.code()).isZero();
    return out.out().lines().filter(l -> l.contains(containerId)).toList();
  }

  private static List<String> mountsUnder(Path p) throws IOException {
    String prefix = p.toString();
    return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
        .filter(l -> l.split(" ")[4].startsWith(prefix)).toList();
  }

  record Out(int code, String out) {}

  private static Out run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
    }
    return new Out(p.exitValue(), out);
  }

  private static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    ThreadLocalRandom.current().nextBytes(b);
    return b;
  }
}
