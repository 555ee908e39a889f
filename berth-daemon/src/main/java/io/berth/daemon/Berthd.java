package io.berth.daemon;

import io.grpc.BindableService;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * berthd: reads the config, takes the root lock, builds the components, serves CRI on the unix socket, and shuts
 * down cleanly on SIGTERM. Containers keep running across a daemon restart: they belong to their conmon monitors.
 */
public final class Berthd {
  public static final String VERSION = "0.1.0";

  private Berthd() {}

  public static void main(String[] args) {
    Path configFile = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--config", "-c" -> {
          if (i + 1 >= args.length) {
            fail("--config needs a file");
          }
          configFile = Path.of(args[++i]);
        }
        case "--version", "-v" -> {
          System.out.println("berthd " + VERSION);
          return;
        }
        case "--help", "-h" -> {
          System.out.println("usage: berthd [--config FILE]   (defaults: see docs/config.md)");
          return;
        }
        default -> fail("unknown argument " + args[i] + " (try --help)");
      }
    }
    BerthdConfig config;
    try {
      config = configFile == null ? BerthdConfig.defaults() : ConfigLoader.load(configFile);
    } catch (ConfigException e) {
      fail(e.getMessage());
      return;
    }
    // Must be set before the first logger is created.
    System.setProperty("berth.log.level", config.log().level().toUpperCase());
    try {
      run(config);
    } catch (ConfigException e) {
      fail(e.getMessage());
    } catch (Exception e) {
      LoggerFactory.getLogger(Berthd.class).error("berthd failed to start", e);
      System.exit(1);
    }
  }

  private static void fail(String message) {
    System.err.println("berthd: " + message);
    System.exit(2);
  }

  static void run(BerthdConfig config) throws Exception {
    Logger log = LoggerFactory.getLogger(Berthd.class);
    Path root = Path.of(config.root());
    Path state = Path.of(config.state());
    createPrivateDir(root);
    createStateDir(state);
    RootLock lock = RootLock.acquire(root);
    Components components = Components.create(config);
    Path socket = Path.of(config.grpc().address());
    Server server = serve(socket, config, components.services());
    HTTPServer metrics = config.metrics().enabled() ? serveMetrics(config, components) : null;
    log.info("berthd {} serving CRI on {} (root {}, state {})", VERSION, socket, root, state);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(() -> {
      log.info("berthd shutting down; containers keep running under their monitors");
      server.shutdown();
      if (metrics != null) {
        metrics.close();
      }
      try {
        if (!server.awaitTermination(10, TimeUnit.SECONDS)) {
          server.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      components.close();
      try {
        Files.deleteIfExists(socket);
        lock.close();
      } catch (IOException e) {
        log.warn("cleanup at shutdown: {}", e.toString());
      }
      stopped.countDown();
    }));
    server.awaitTermination();
    stopped.await(15, TimeUnit.SECONDS);
  }

  /** Prometheus /metrics on the configured address (loopback by default), only when enabled. */
  static HTTPServer serveMetrics(BerthdConfig config, Components components) throws IOException {
    String addr = config.metrics().address();
    int colon = addr.lastIndexOf(':');
    if (colon < 0) {
      throw new ConfigException("metrics.address: expected host:port, got '" + addr + "'");
    }
    HTTPServer s = HTTPServer.builder()
        .hostname(addr.substring(0, colon))
        .port(Integer.parseInt(addr.substring(colon + 1)))
        .registry(components.metricsRegistry)
        .buildAndStart();
    LoggerFactory.getLogger(Berthd.class).info("metrics on http://{}/metrics", addr);
    return s;
  }

  /** Directories holding pod and image data are 0700 (a peer leaked pod data through 0711/0755: CVE-2024-25621). */
  static void createPrivateDir(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
  }

  /**
   * The state dir is 0711: a pod in its own user namespace is set up by its root, an unprivileged host id, which
   * must pass through it to the pod's own directory (0710, its group; see berth-cri's Dirs). Nothing below can be
   * listed, and every child but the per-pod and per-container parents (0711, made by berth-cri) is created 0700
   * here, before any component uses it. containerd keeps /run/containerd 0711 for the same reason.
   */
  static void createStateDir(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx--x--x"));
    for (String child : Components.PRIVATE_STATE_DIRS) {
      createPrivateDir(dir.resolve(child));
    }
  }

  static Server serve(Path socket, BerthdConfig config, Iterable<BindableService> services) throws IOException {
    Files.createDirectories(socket.getParent());
    Files.deleteIfExists(socket);
    ExecutorService handlers = Executors.newVirtualThreadPerTaskExecutor();
    NettyServerBuilder b = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollServerDomainSocketChannel.class)
        .bossEventLoopGroup(new EpollEventLoopGroup(1))
        .workerEventLoopGroup(new EpollEventLoopGroup(2))
        .executor(handlers)
        .maxInboundMessageSize(config.grpc().maxRecvMessageSize());
    services.forEach(b::addService);
    Server server = b.build().start();
    // Not world-accessible: owner root, group from config, mode 0660.
    Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
    if (config.grpc().gid() != 0) {
      Files.setAttribute(socket, "unix:gid", config.grpc().gid());
    }
    return server;
  }
}
