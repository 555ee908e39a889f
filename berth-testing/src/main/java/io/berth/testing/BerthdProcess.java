package io.berth.testing;

import io.berth.cri.api.ContainerFilter;
import io.berth.cri.api.ImageServiceGrpc;
import io.berth.cri.api.ListContainersRequest;
import io.berth.cri.api.ListPodSandboxRequest;
import io.berth.cri.api.PodSandbox;
import io.berth.cri.api.RemoveContainerRequest;
import io.berth.cri.api.RemovePodSandboxRequest;
import io.berth.cri.api.RuntimeServiceGrpc;
import io.berth.cri.api.StopPodSandboxRequest;
import io.berth.cri.api.VersionRequest;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * berthd as a child process ({@code berth-daemon/target/berthd.jar}) with its own root, state dir and socket under
 * {@code /tmp/berth-it-*}, its own CNI network (a unique bridge and 10.201.N.0/24 subnet, IPAM data in the temp dir),
 * and a CRI client on its socket. Use it as a JUnit 5 extension (one daemon per test class):
 * <pre>
 * {@literal @}RegisterExtension static final BerthdProcess berthd = BerthdProcess.builder().build();
 * {@literal @}RegisterExtension final LeakCheck leaks = berthd.leakCheck();
 * </pre>
 * or with try-with-resources. {@link #close()} removes every pod the daemon still has, stops it with SIGTERM, and
 * then removes whatever a crashed daemon may have left (runtime containers, conmon processes, mounts, the bridge,
 * the cgroup parent, the temp dir). Pods that tests create should use {@link #cgroupParent()} and
 * {@link #logDir()}, so that everything they leave is found by {@link #leakCheck()} and removed by close().
 */
public final class BerthdProcess implements AutoCloseable, BeforeAllCallback, AfterAllCallback, ParameterResolver {
  private static final Logger log = LoggerFactory.getLogger(BerthdProcess.class);
  private static final long READY_MILLIS = 90_000;
  private static final long RPC_SECONDS = 180;
  private static final List<String> HANDLERS = List.of("runc", "crun", "runsc");

  private final Builder options;
  private final String suffix = HexFormat.of().formatHex(randomBytes(3));
  private final int subnetOctet = 1 + new SecureRandom().nextInt(254);
  private Path dir;
  private Process process;
  private ManagedChannel channel;
  private EpollEventLoopGroup group;

  private BerthdProcess(Builder options) {
    this.options = options;
  }

  /** Options of a daemon; {@link Builder#build()} gives an unstarted one (an extension), {@link Builder#start()} a running one. */
  public static Builder builder() {
    return new Builder();
  }

  /** Options of a {@link BerthdProcess}. */
  public static final class Builder {
    private final Map<String, String[]> handlers = new LinkedHashMap<>();
    private final Map<String, LocalRegistry> registryHosts = new LinkedHashMap<>();
    private final List<Path> extraPluginDirs = new ArrayList<>();
    private Path confDir;
    private String extraToml = "";
    private String pauseImage;

    /**
     * Adds a runtime handler ({@code binary} may not exist, to test that case). The three shipped handlers (runc,
     * crun, runsc) are always configured as well.
     */
    public Builder handler(String name, String binary, String... args) {
      handlers.put(name, concat(binary, args));
      return this;
    }

    /** Runs infra processes from this pause image ({@code [pod] infra = "image"}) instead of catatonit. */
    public Builder pauseImage(String reference) {
      pauseImage = reference;
      return this;
    }

    /** Serves {@code host} (as in image references {@code host/repo:tag}) from {@code registry}, no fallback. */
    public Builder registryHost(String host, LocalRegistry registry) {
      registryHosts.put(host, registry);
      return this;
    }

    /** Uses this CNI conf dir instead of the generated bridge network. */
    public Builder cniConfDir(Path dir) {
      confDir = dir;
      return this;
    }

    /** Looks for CNI plugins here too (before {@code /usr/lib/cni}). */
    public Builder cniPluginDir(Path dir) {
      extraPluginDirs.add(dir);
      return this;
    }

    /** Raw TOML appended to the config (sections not written otherwise). */
    public Builder toml(String toml) {
      extraToml += "\n" + toml + "\n";
      return this;
    }

    public BerthdProcess build() {
      return new BerthdProcess(this);
    }

    public BerthdProcess start() {
      BerthdProcess p = build();
      p.start();
      return p;
    }

    private static String[] concat(String first, String[] rest) {
      String[] all = new String[rest.length + 1];
      all[0] = first;
      System.arraycopy(rest, 0, all, 1, rest.length);
      return all;
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // JUnit

  @Override
  public void beforeAll(ExtensionContext context) {
    for (LocalRegistry r : options.registryHosts.values()) {
      r.beforeAll(context);
    }
    if (process == null) {
      start();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }

  @Override
  public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
    return p.getParameter().getType() == BerthdProcess.class;
  }

  @Override
  public Object resolveParameter(ParameterContext p, ExtensionContext e) {
    return this;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Life cycle

  /** The daemon jar, found from the working directory up to the project root. */
  public static Path daemonJar() {
    Path d = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    for (Path p = d; p != null; p = p.getParent()) {
      if (Files.isDirectory(p.resolve("berth-daemon")) && Files.exists(p.resolve("pom.xml"))) {
        Path jar = p.resolve("berth-daemon/target/berthd.jar");
        if (!Files.isRegularFile(jar)) {
          throw new IllegalStateException(jar + " is missing: build it first with "
              + "`mvn -q -pl berth-daemon package -DskipTests -DskipITs` (or a reactor build)");
        }
        return jar;
      }
    }
    throw new IllegalStateException("cannot find the Berth project root (with berth-daemon/) above " + d);
  }

  /** Creates the temp dirs and config (first time) and starts the daemon; returns once it answers Version. */
  public synchronized void start() {
    start(Map.of());
  }

  /**
   * Starts the daemon (as {@link #start()}) so that the first RPC that reaches the named pause point inside berthd
   * (berth-cri's {@code PausePoint}, e.g. {@code runpod.after-cni}) stops there and blocks: the test sees it with
   * {@link #awaitPaused()} and then crashes the daemon with {@link #kill()} at exactly that point.
   */
  public synchronized void startPausingAt(String point) {
    try {
      if (dir != null) {
        Files.deleteIfExists(pauseMarker());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    start(Map.of("BERTH_TEST_PAUSE_AT", point));
  }

  /** Waits until the daemon started by {@link #startPausingAt} has paused; returns the point's name. */
  public String awaitPaused() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(RPC_SECONDS);
    while (System.nanoTime() < deadline) {
      try {
        if (Files.exists(pauseMarker())) {
          return Files.readString(pauseMarker()).strip();
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      synchronized (this) {
        if (process == null || !process.isAlive()) {
          throw new IllegalStateException("berthd is not running while a pause was awaited:\n" + logTail(60));
        }
      }
      sleep(20);
    }
    throw new IllegalStateException("berthd did not pause within " + RPC_SECONDS + " s:\n" + logTail(60));
  }

  /** The file berthd writes when it reaches its pause point. */
  public Path pauseMarker() {
    return requireDir().resolve("paused-at");
  }

  private synchronized void start(Map<String, String> env) {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException("berthd is already running");
    }
    try {
      if (dir == null) {
        if (!"root".equals(System.getProperty("user.name")) && !Files.isWritable(Path.of("/sys/fs/cgroup"))) {
          throw new IllegalStateException("berthd end-to-end tests need root");
        }
        dir = Files.createTempDirectory(Path.of("/tmp"), "berth-it-");
        // Searchable (not listable) by others: a pod in its own user namespace is set up by its root, an
        // unprivileged host id, under the state dir. berthd keeps everything below private itself.
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
        writeConfig();
      }
      Path jar = daemonJar();
      String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      // In a session of its own, as under systemd or scripts/demo.sh's setsid: a session leader without a terminal
      // must never acquire one (a TTY exec that let berthd open a pty would make it berthd's, and its hangup would
      // stop berthd). setsid(1) execs directly (the child is no group leader), so the pid stays berthd's.
      List<String> cmd = List.of("setsid", javaBin, "-XX:+UseSerialGC", "-Xmx256m", "-XX:TieredStopAtLevel=1",
          "-XX:+ExitOnOutOfMemoryError", "--enable-native-access=ALL-UNNAMED", "-jar", jar.toString(),
          "--config", configFile().toString());
      Files.writeString(logFile(), "---- starting berthd: " + String.join(" ", cmd)
          + (env.isEmpty() ? "" : " " + env) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()));
      pb.environment().remove("BERTH_TEST_PAUSE_AT");
      pb.environment().putAll(env);
      if (env.containsKey("BERTH_TEST_PAUSE_AT")) {
        pb.environment().put("BERTH_TEST_PAUSE_MARKER", pauseMarker().toString());
      }
      process = pb.start();
      awaitReady();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start berthd", e);
    }
  }

  private void awaitReady() {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(READY_MILLIS);
    StatusRuntimeException last = null;
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("berthd exited with " + process.exitValue() + " at start:\n" + logTail(60));
      }
      if (Files.exists(socket())) {
        openChannel();
        try {
          RuntimeServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
              .version(VersionRequest.getDefaultInstance());
          return;
        } catch (StatusRuntimeException e) {
          last = e;
        }
      }
      sleep(100);
    }
    throw new IllegalStateException("berthd did not answer on " + socket() + " within " + READY_MILLIS + " ms ("
        + last + "):\n" + logTail(60));
  }

  private synchronized void openChannel() {
    closeChannel();
    group = new EpollEventLoopGroup(1);
    channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket().toString()))
        .channelType(EpollDomainSocketChannel.class).eventLoopGroup(group).usePlaintext()
        .maxInboundMessageSize(64 << 20).overrideAuthority("localhost").build();
  }

  private synchronized void closeChannel() {
    if (channel != null) {
      channel.shutdownNow();
      try {
        channel.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      channel = null;
    }
    if (group != null) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      group = null;
    }
  }

  /** SIGTERM, as a node's init would stop it; SIGKILL if it does not exit within 30 s. Returns the exit code. */
  public synchronized int stop() {
    closeChannel();
    if (process == null) {
      return 0;
    }
    process.destroy();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        log.warn("berthd ignored SIGTERM for 30 s; killing it");
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      return process.exitValue();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } finally {
      process = null;
    }
  }

  /** SIGKILL: the daemon dies without any cleanup, as in a crash; its pods keep running under their conmons. */
  public synchronized void kill() {
    closeChannel();
    if (process == null) {
      return;
    }
    process.destroyForcibly();
    try {
      process.waitFor(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    process = null;
  }

  /** The daemon's pid while it runs. */
  public synchronized long pid() {
    if (process == null) {
      throw new IllegalStateException("berthd is not running");
    }
    return process.pid();
  }

  public synchronized boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** Stops and removes every pod sandbox (and container) the daemon knows. */
  public void removeAllPods() {
    if (!isRunning()) {
      return;
    }
    RuntimeServiceGrpc.RuntimeServiceBlockingStub rt = runtime();
    for (PodSandbox p : rt.listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList()) {
      rt.stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(p.getId()).build());
      rt.removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(p.getId()).build());
    }
    rt.listContainers(ListContainersRequest.newBuilder().setFilter(ContainerFilter.getDefaultInstance()).build())
        .getContainersList()
        .forEach(c -> rt.removeContainer(RemoveContainerRequest.newBuilder().setContainerId(c.getId()).build()));
  }

  @Override
  public synchronized void close() {
    if (dir == null) {
      return;
    }
    List<Throwable> errors = new ArrayList<>();
    try {
      removeAllPods();
    } catch (RuntimeException e) {
      errors.add(e);
    }
    try {
      stop();
    } catch (RuntimeException e) {
      errors.add(e);
    }
    try {
      scrub();
    } catch (RuntimeException | IOException e) {
      errors.add(e);
    }
    Path d = dir;
    dir = null;
    if (!errors.isEmpty()) {
      IllegalStateException e = new IllegalStateException("berthd in " + d + " could not be cleaned up fully: "
          + errors.getFirst());
      errors.forEach(e::addSuppressed);
      throw e;
    }
  }

  /** Removes what a dead daemon may have left: runtime containers, conmons, mounts, bridge, cgroups, files. */
  private void scrub() throws IOException {
    for (String h : HANDLERS) {
      Path rootDir = state().resolve("runtime").resolve(h);
      if (!Files.isDirectory(rootDir)) {
        continue;
      }
      try (Stream<Path> ids = Files.list(rootDir)) {
        for (Path id : ids.filter(Files::isDirectory).toList()) {
          String bin = switch (h) {
            case "runc" -> "/usr/sbin/runc";
            case "crun" -> "/usr/bin/crun";
            default -> "/usr/bin/runsc";
          };
          run(bin, "--root", rootDir.toString(), "delete", "--force", id.getFileName().toString());
        }
      }
    }
    for (String comm : LeakCheck.MONITOR_COMMS) {
      for (long pid : LeakCheck.processesMentioning(dir.toString(), comm)) {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
    List<String> mounts = LeakCheck.mountPointsUnder(dir);
    mounts.sort(Comparator.comparingInt(String::length).reversed());
    for (String m : mounts) {
      run("umount", "-l", m);
    }
    run("ip", "link", "del", bridgeName());
    for (Path ctrl : LeakCheck.cgroupControllers()) {
      Path parent = ctrl.resolve(cgroupParent().substring(1));
      if (Files.isDirectory(parent)) {
        try (Stream<Path> walk = Files.walk(parent)) {
          for (Path p : walk.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList()) {
            try {
              Files.delete(p);
            } catch (IOException e) {
              log.warn("cannot remove cgroup {}: {}", p, e.toString());
            }
          }
        }
      }
    }
    if (!LeakCheck.mountPointsUnder(dir).isEmpty()) {
      throw new IOException("mounts left under " + dir + ": " + LeakCheck.mountPointsUnder(dir));
    }
    if (!Boolean.getBoolean("berth.it.keep")) {
      run("rm", "-rf", "--one-file-system", dir.toString());
    } else {
      log.info("keeping {} (-Dberth.it.keep=true)", dir);
    }
  }

  private static void run(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    } catch (IOException e) {
      log.warn("{}: {}", String.join(" ", cmd), e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Config

  private void writeConfig() throws IOException {
    Path net = Files.createDirectories(dir.resolve("cni/net.d"));
    Files.createDirectories(dir.resolve("cni/ipam"));
    Files.createDirectories(logDir());
    Files.writeString(net.resolve("10-berth-it.conflist"), """
        {
          "cniVersion": "1.0.0",
          "name": "%s",
          "plugins": [
            {
              "type": "bridge",
              "bridge": "%s",
              "isGateway": true,
              "ipMasq": false,
              "hairpinMode": true,
              "ipam": {
                "type": "host-local",
                "dataDir": "%s",
                "ranges": [[{ "subnet": "%s" }]],
                "routes": [{ "dst": "0.0.0.0/0" }]
              }
            },
            { "type": "portmap", "capabilities": { "portMappings": true } }
          ]
        }
        """.formatted(networkName(), bridgeName(), dir.resolve("cni/ipam"), subnet()));
    StringBuilder t = new StringBuilder();
    t.append("root = \"").append(dir.resolve("root")).append("\"\n");
    t.append("state = \"").append(dir.resolve("state")).append("\"\n");
    t.append("[grpc]\naddress = \"").append(socket()).append("\"\n");
    t.append("[log]\nlevel = \"debug\"\n");
    t.append("[registry]\ndocker_config = \"").append(dir.resolve("no-docker-config.json")).append("\"\n");
    t.append("[network]\nconf_dirs = [\"")
        .append(options.confDir == null ? net.toString() : options.confDir.toString()).append("\"]\n");
    List<String> pluginDirs = new ArrayList<>();
    options.extraPluginDirs.forEach(p -> pluginDirs.add(p.toString()));
    pluginDirs.add("/usr/lib/cni");
    t.append("plugin_dirs = [").append(String.join(", ", pluginDirs.stream().map(p -> "\"" + p + "\"").toList()))
        .append("]\n");
    t.append("[pod]\nstop_timeout = \"5s\"\n");
    if (options.pauseImage != null) {
      t.append("infra = \"image\"\npause_image = \"").append(options.pauseImage).append("\"\n");
    }
    Map<String, String[]> handlers = new LinkedHashMap<>();
    handlers.put("runc", new String[] {"/usr/sbin/runc"});
    handlers.put("crun", new String[] {"/usr/bin/crun"});
    handlers.put("runsc", new String[] {"/usr/bin/runsc"});
    handlers.putAll(options.handlers);
    handlers.forEach((name, h) -> {
      t.append("[runtime.handlers.").append(name).append("]\nbinary = \"").append(h[0]).append("\"\n");
      if (h.length > 1) {
        t.append("args = [").append(String.join(", ", java.util.Arrays.stream(h, 1, h.length)
            .map(a -> "\"" + a + "\"").toList())).append("]\n");
      }
    });
    options.registryHosts.forEach((host, r) -> t.append("[registry.hosts.\"").append(host).append("\"]\nserver = \"")
        .append(r.url()).append("\"\n"));
    t.append(options.extraToml);
    Files.writeString(configFile(), t.toString());
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Accessors

  /** A CRI RuntimeService client with a generous per-call deadline. */
  public RuntimeServiceGrpc.RuntimeServiceBlockingStub runtime() {
    return RuntimeServiceGrpc.newBlockingStub(channel()).withDeadlineAfter(RPC_SECONDS, TimeUnit.SECONDS);
  }

  /** A CRI ImageService client with a generous per-call deadline. */
  public ImageServiceGrpc.ImageServiceBlockingStub images() {
    return ImageServiceGrpc.newBlockingStub(channel()).withDeadlineAfter(RPC_SECONDS, TimeUnit.SECONDS);
  }

  /** The channel to the daemon's socket (valid until the daemon is stopped or killed). */
  public synchronized ManagedChannel channel() {
    if (channel == null) {
      throw new IllegalStateException("berthd is not running");
    }
    return channel;
  }

  /** The temp dir holding everything of this daemon. */
  public Path dir() {
    return requireDir();
  }

  public Path root() {
    return requireDir().resolve("root");
  }

  public Path state() {
    return requireDir().resolve("state");
  }

  public Path socket() {
    return state().resolve("berth.sock");
  }

  public Path configFile() {
    return requireDir().resolve("berthd.toml");
  }

  public Path logFile() {
    return requireDir().resolve("berthd.log");
  }

  /** Where tests should put pod log directories ({@code PodSandboxConfig.log_directory}). */
  public Path logDir() {
    return requireDir().resolve("logs");
  }

  /** The SQLite database of the daemon. */
  public Path database() {
    return root().resolve("metadata/berth.db");
  }

  /** The cgroup parent tests should give their pods ({@code /bit-XXXXXX}), scanned by {@link #leakCheck()}. */
  public String cgroupParent() {
    return "/bit-" + suffix;
  }

  /** The generated CNI network's name, bridge and subnet. */
  public String networkName() {
    return "berth-it-" + suffix;
  }

  public String bridgeName() {
    return "bit" + suffix;
  }

  public String subnet() {
    return "10.201." + subnetOctet + ".0/24";
  }

  /** The last lines of the daemon's log (for failure messages). */
  public String logTail(int lines) {
    try {
      List<String> all = Files.readAllLines(logFile());
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /**
   * A leak check scoped to this daemon: mounts under its dir (the netns/ns pin dirs themselves are the daemon's and
   * ignored), its netns dir and {@code /run/netns}, conmon processes working for it, cgroups named {@code berth-*}
   * under {@link #cgroupParent()}, and id-named entries of its state dir and active snapshots. Before comparing,
   * it removes every pod the daemon still has (a test's pods are its own business, not leaks).
   */
  public LeakCheck leakCheck() {
    return LeakCheck.builder()
        .scope(() -> requireDir())
        .ignoreMountPoints(() -> List.of(state().resolve("netns"), state().resolve("ns")))
        .netnsDirs(() -> List.of(Path.of("/run/netns"), state().resolve("netns")))
        .cgroupParent(() -> cgroupParent())
        .watchDirs(() -> List.of(state(), root().resolve("snapshots/active")))
        .ignoreIds(this::spareIds)
        .beforeCompare(this::removeAllPods)
        .build();
  }

  /** Ids of the spare rootfs berthd keeps made ahead (under {@code <state>/spares}). */
  public Set<String> spareIds() {
    try (Stream<Path> s = Files.list(state().resolve("spares"))) {
      return s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
    } catch (NoSuchFileException e) {
      return Set.of();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private Path requireDir() {
    if (dir == null) {
      throw new IllegalStateException("berthd has not been started (or was closed)");
    }
    return dir;
  }

  private static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    new SecureRandom().nextBytes(b);
    return b;
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
