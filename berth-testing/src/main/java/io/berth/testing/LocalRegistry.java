package io.berth.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Debian's real {@code docker-registry} (distribution 2.8) on 127.0.0.1 at a free port, with its storage in a temp
 * dir: anonymous, with Basic auth (bcrypt htpasswd made by {@code htpasswd -Bbn}), or with token auth against a
 * {@link TokenServer}. Use it with try-with-resources, or as a JUnit 5 extension:
 * <pre>
 * {@literal @}RegisterExtension static final LocalRegistry registry = LocalRegistry.builder().basicAuth("u", "p").build();
 * </pre>
 * (started before all tests of the class, closed after). {@link #close()} kills the process and deletes the dir.
 */
public final class LocalRegistry implements AutoCloseable, BeforeAllCallback, AfterAllCallback {
  public static final String BINARY = "/usr/bin/docker-registry";
  private static final long READY_WAIT_MILLIS = 30_000;

  private final Optional<String[]> basic;
  private final Optional<TokenServer> token;
  private Path dir;
  private Process process;
  private int port;

  private LocalRegistry(Optional<String[]> basic, Optional<TokenServer> token) {
    this.basic = basic;
    this.token = token;
  }

  /** Configures a registry; call {@link Builder#start()} or register the built instance as an extension. */
  public static Builder builder() {
    return new Builder();
  }

  /** Starts an anonymous registry. */
  public static LocalRegistry start() {
    return builder().start();
  }

  /** Options of a {@link LocalRegistry}. */
  public static final class Builder {
    private Optional<String[]> basic = Optional.empty();
    private Optional<TokenServer> token = Optional.empty();

    /** Requires Basic auth for this one user (htpasswd, bcrypt). */
    public Builder basicAuth(String username, String password) {
      basic = Optional.of(new String[] {username, password});
      return this;
    }

    /** Requires Bearer tokens from {@code server}; the registry trusts its certificate. */
    public Builder tokenAuth(TokenServer server) {
      token = Optional.of(server);
      return this;
    }

    /** An unstarted registry, for use as an extension. */
    public LocalRegistry build() {
      if (basic.isPresent() && token.isPresent()) {
        throw new IllegalArgumentException("choose Basic or token auth, not both");
      }
      return new LocalRegistry(basic, token);
    }

    public LocalRegistry start() {
      LocalRegistry r = build();
      r.startProcess();
      return r;
    }
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    if (process == null) {
      startProcess();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }

  private synchronized void startProcess() {
    if (!Files.isExecutable(Path.of(BINARY))) {
      throw new IllegalStateException(BINARY + " is missing: install Debian's docker-registry (scripts/setup.sh)");
    }
    try {
      dir = Files.createTempDirectory("berth-registry-");
      Files.createDirectories(dir.resolve("storage"));
      IOException last = null;
      for (int tries = 0; tries < 5; tries++) {
        port = freePort();
        writeConfig();
        process = new ProcessBuilder(BINARY, "serve", dir.resolve("config.yml").toString())
            .redirectErrorStream(true).redirectOutput(dir.resolve("registry.log").toFile()).start();
        try {
          awaitReady();
          return;
        } catch (IOException e) {
          last = e;
          killProcess();
        }
      }
      throw last;
    } catch (IOException e) {
      close();
      throw new UncheckedIOException("cannot start docker-registry", e);
    }
  }

  private void writeConfig() throws IOException {
    StringBuilder auth = new StringBuilder();
    if (basic.isPresent()) {
      Path htpasswd = dir.resolve("htpasswd");
      Process p = new ProcessBuilder("htpasswd", "-Bbn", basic.get()[0], basic.get()[1]).redirectErrorStream(false)
          .start();
      String line = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      try {
        if (p.waitFor() != 0 || line.isEmpty()) {
          throw new IOException("htpasswd -Bbn failed (install apache2-utils)");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
      Files.writeString(htpasswd, line + "\n");
      auth.append("auth:\n  htpasswd:\n    realm: berth-test\n    path: ").append(htpasswd).append('\n');
    } else if (token.isPresent()) {
      TokenServer t = token.get();
      auth.append("auth:\n  token:\n    realm: ").append(t.realm()).append("\n    service: ")
          .append(TokenServer.SERVICE).append("\n    issuer: ").append(TokenServer.ISSUER)
          .append("\n    rootcertbundle: ").append(t.certFile()).append('\n');
    }
    String yml = """
        version: 0.1
        log:
          level: warn
          accesslog:
            disabled: true
        storage:
          filesystem:
            rootdirectory: %s
          delete:
            enabled: true
        http:
          addr: 127.0.0.1:%d
          secret: %s
        %s""".formatted(dir.resolve("storage"), port, UUID.randomUUID(), auth);
    Files.writeString(dir.resolve("config.yml"), yml);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private void awaitReady() throws IOException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(READY_WAIT_MILLIS);
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IOException("docker-registry exited with " + process.exitValue() + ": " + log());
      }
      try {
        HttpURLConnection c = (HttpURLConnection) URI.create(url() + "/v2/").toURL().openConnection();
        c.setConnectTimeout(1000);
        c.setReadTimeout(5000);
        int status = c.getResponseCode();
        c.disconnect();
        if (status == 200 || status == 401) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      }
    }
    throw new IOException("docker-registry not ready after " + READY_WAIT_MILLIS + " ms: " + log());
  }

  /** The registry's log so far (for failure messages). */
  public String log() {
    try {
      return Files.readString(dir.resolve("registry.log"));
    } catch (IOException e) {
      return "(no log)";
    }
  }

  /** {@code http://127.0.0.1:PORT}. */
  public String url() {
    return "http://" + host();
  }

  /** {@code 127.0.0.1:PORT}, the registry part of image references. */
  public String host() {
    return "127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  /** The registry's storage root (blobs and repositories, in distribution's layout). */
  public Path storageDir() {
    return dir.resolve("storage");
  }

  /** Credentials this registry requires, if it uses Basic auth: {username, password}. */
  public Optional<String[]> basicCredentials() {
    return basic.map(String[]::clone);
  }

  private void killProcess() {
    if (process != null) {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      process = null;
    }
  }

  @Override
  public synchronized void close() {
    killProcess();
    if (dir != null) {
      try (Stream<Path> walk = Files.walk(dir)) {
        for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot delete " + dir, e);
      }
      dir = null;
    }
  }
}
