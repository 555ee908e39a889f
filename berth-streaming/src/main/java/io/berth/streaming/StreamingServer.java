package io.berth.streaming;

import io.berth.core.BerthException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP server that the kubelet, crictl and kubectl reach through the URLs of CRI Exec, Attach and PortForward.
 * It speaks the Kubernetes remote command protocol over SPDY/3.1 ({@code v5}/{@code v4}/{@code v3}/{@code v2}
 * {@code .channel.k8s.io}, {@code channel.k8s.io}) and over WebSocket ({@code v5.channel.k8s.io},
 * {@code v4.channel.k8s.io} and their base64 variants), and {@code portforward.k8s.io} over SPDY or WebSocket. URLs
 * have kubelet's shapes ({@code /exec/<token>}, {@code /attach/<token>}, {@code /portforward/<token>}); tokens are
 * random, single-use and expire after {@link StreamingConfig#tokenTtl()}.
 *
 * <p>One virtual thread per connection plus one per running backend call; every thread and socket of a session
 * ends when the command exits or the client goes away. Thread-safe.
 */
public final class StreamingServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StreamingServer.class);
  /** kubelet's DefaultStreamCreationTimeout. */
  static final Duration DEFAULT_STREAM_CREATION_TIMEOUT = Duration.ofSeconds(30);
  /** How long a finished session waits for the client to close before the server closes. */
  static final Duration LINGER = Duration.ofSeconds(5);
  private static final int IO_BUFFER = 16 * 1024;

  private final StreamingConfig config;
  private final ServerSocket server;
  private final RequestCache cache;
  private final SessionContext ctx;
  private final ScheduledThreadPoolExecutor scheduler;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final Thread acceptor;
  private final String baseUrl;
  private volatile boolean closed;

  private StreamingServer(StreamingConfig config, StreamingBackend backend, Clock clock,
      Duration streamCreationTimeout) throws IOException {
    this.config = config;
    this.cache = new RequestCache(clock, config.tokenTtl(), RequestCache.MAX_IN_FLIGHT);
    this.scheduler = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().daemon().name(
        "berth-streaming-timer").unstarted(r));
    this.scheduler.setRemoveOnCancelPolicy(true);
    this.ctx = new SessionContext(backend, config.idleTimeout(), streamCreationTimeout, LINGER, scheduler);
    this.server = new ServerSocket();
    try {
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress(InetAddress.getByName(config.address()), config.port()), 128);
    } catch (IOException e) {
      server.close();
      scheduler.shutdownNow();
      throw e;
    }
    String host = config.address().contains(":") ? "[" + config.address() + "]" : config.address();
    this.baseUrl = "http://" + host + ":" + server.getLocalPort();
    this.acceptor = Thread.ofPlatform().daemon().name("berth-streaming-accept").unstarted(this::acceptLoop);
  }

  /** Binds and starts serving; throws UNAVAILABLE when the address cannot be bound. */
  public static StreamingServer start(StreamingConfig config, StreamingBackend backend) {
    return start(config, backend, Clock.systemUTC(), DEFAULT_STREAM_CREATION_TIMEOUT);
  }

  static StreamingServer start(StreamingConfig config, StreamingBackend backend, Clock clock,
      Duration streamCreationTimeout) {
    try {
      StreamingServer s = new StreamingServer(config, backend, clock, streamCreationTimeout);
      s.acceptor.start();
      log.info("streaming server listening on {}", s.baseUrl);
      return s;
    } catch (IOException e) {
      throw new BerthException(io.berth.core.ErrorKind.UNAVAILABLE,
          "cannot listen for streaming on " + config.address() + ":" + config.port() + ": " + e.getMessage(), e);
    }
  }

  /** The URL for a CRI Exec; INVALID_ARGUMENT for a request kubelet would refuse, RESOURCE_EXHAUSTED when full. */
  public String execUrl(ExecRequest r) {
    requireContainer(r.containerId());
    if (r.cmd().isEmpty()) {
      throw BerthException.invalidArgument("cmd must not be empty");
    }
    requireStreams(r.tty(), r.stdin(), r.stdout(), r.stderr());
    return baseUrl + "/exec/" + cache.insert(r);
  }

  /** The URL for a CRI Attach; INVALID_ARGUMENT for a request kubelet would refuse, RESOURCE_EXHAUSTED when full. */
  public String attachUrl(AttachRequest r) {
    requireContainer(r.containerId());
    requireStreams(r.tty(), r.stdin(), r.stdout(), r.stderr());
    return baseUrl + "/attach/" + cache.insert(r);
  }

  /** The URL for a CRI PortForward; INVALID_ARGUMENT for a missing sandbox id or a bad port. */
  public String portForwardUrl(PortForwardRequest r) {
    if (r.podSandboxId() == null || r.podSandboxId().isBlank()) {
      throw BerthException.invalidArgument("missing required pod_sandbox_id");
    }
    for (int p : r.ports()) {
      if (p < 1 || p > 65535) {
        throw BerthException.invalidArgument("port %d out of range", p);
      }
    }
    return baseUrl + "/portforward/" + cache.insert(r);
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Streaming threads alive now (connections and backend calls), for leak checks. */
  int liveThreads() {
    return ctx.liveThreads();
  }

  int openConnections() {
    return open.size();
  }

  int pendingTokens() {
    return cache.size();
  }

  /** Stops accepting, closes every connection (running backends see their client go away). */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      server.close();
    } catch (IOException e) {
      log.debug("closing the listener: {}", e.toString());
    }
    for (Socket s : open) {
      closeQuietly(s);
    }
    scheduler.shutdownNow();
    try {
      acceptor.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void requireContainer(String id) {
    if (id == null || id.isBlank()) {
      throw BerthException.invalidArgument("missing required container_id");
    }
  }

  private static void requireStreams(boolean tty, boolean stdin, boolean stdout, boolean stderr) {
    if (tty && stderr) {
      throw BerthException.invalidArgument("tty and stderr cannot both be true");
    }
    if (!stdin && !stdout && !stderr) {
      throw BerthException.invalidArgument("one of stdin, stdout, or stderr must be set");
    }
  }

  private void acceptLoop() {
    while (!closed) {
      Socket s;
      try {
        s = server.accept();
      } catch (IOException e) {
        if (!closed) {
          log.warn("streaming accept failed", e);
        }
        return;
      }
      open.add(s);
      if (closed) {
        closeQuietly(s);
        open.remove(s);
        return;
      }
      ctx.spawn(() -> handle(s));
    }
  }

  private void handle(Socket s) {
    try {
      s.setTcpNoDelay(true);
      s.setSoTimeout((int) ctx.streamCreationTimeout.toMillis()); // for the request head
      InputStream in = new BufferedInputStream(s.getInputStream(), IO_BUFFER);
      OutputStream out = new BufferedOutputStream(s.getOutputStream(), IO_BUFFER);
      HttpHead head;
      try {
        head = HttpHead.read(in);
        route(s, in, out, head);
      } catch (HttpHead.BadRequest e) {
        log.debug("streaming request from {} refused: {} {}", s.getRemoteSocketAddress(), e.status, e.getMessage());
        HttpHead.writeError(out, e.status, e.getMessage(), badRequestHeaders(e));
      }
    } catch (IOException e) {
      log.debug("streaming connection from {} ended: {}", s.getRemoteSocketAddress(), e.toString());
    } catch (RuntimeException e) {
      log.error("streaming connection from {} failed", s.getRemoteSocketAddress(), e);
    } finally {
      closeQuietly(s);
      open.remove(s);
    }
  }

  private static Map<String, String> badRequestHeaders(HttpHead.BadRequest e) {
    return e instanceof NegotiationFailed n ? Map.of("X-Accepted-Stream-Protocol-Versions", n.accepted) : Map.of();
  }

  private static final class NegotiationFailed extends HttpHead.BadRequest {
    final String accepted;

    NegotiationFailed(String message, List<String> accepted) {
      super(403, message);
      this.accepted = String.join(", ", accepted);
    }
  }

  private void route(Socket s, InputStream in, OutputStream out, HttpHead head)
      throws IOException, HttpHead.BadRequest {
    if (!head.method().equals("GET") && !head.method().equals("POST")) {
      throw new HttpHead.BadRequest(405, "method " + head.method() + " not allowed");
    }
    String[] seg = head.path().split("/");
    if (seg.length != 3 || !seg[0].isEmpty() || !List.of("exec", "attach", "portforward").contains(seg[1])) {
      throw new HttpHead.BadRequest(404, "404 page not found: " + head.path());
    }
    String kind = seg[1];
    Optional<Object> request = cache.consume(seg[2]);
    boolean matches = request.map(r -> switch (kind) {
      case "exec" -> r instanceof ExecRequest;
      case "attach" -> r instanceof AttachRequest;
      default -> r instanceof PortForwardRequest;
    }).orElse(false);
    if (!matches) {
      throw new HttpHead.BadRequest(404,
          "streaming token not found: it is unknown, expired or already used; ask the runtime for a new URL");
    }
    if (request.get() instanceof PortForwardRequest pf) {
      servePortForward(s, in, out, head, pf);
    } else {
      serveRemoteCommand(s, in, out, head, RemoteCommand.Target.of(request.get()));
    }
  }

  private void serveRemoteCommand(Socket s, InputStream in, OutputStream out, HttpHead head,
      RemoteCommand.Target target) throws IOException, HttpHead.BadRequest {
    if (head.isWebSocket()) {
      String protocol = acceptWebSocket(out, head, WebSocketRemoteCommand.PROTOCOLS);
      log.debug("{} session for container {} over WebSocket {}", target.isExec() ? "exec" : "attach",
          target.containerId(), protocol);
      WebSocketRemoteCommand.serve(ctx, s, in, out, protocol, target);
    } else {
      String protocol = acceptSpdy(out, head, SpdyRemoteCommand.PROTOCOLS);
      log.debug("{} session for container {} over SPDY {}", target.isExec() ? "exec" : "attach",
          target.containerId(), protocol);
      SpdyRemoteCommand.serve(ctx, s, in, out, protocol, target);
    }
  }

  private void servePortForward(Socket s, InputStream in, OutputStream out, HttpHead head, PortForwardRequest pf)
      throws IOException, HttpHead.BadRequest {
    if (head.isWebSocket()) {
      List<Integer> ports = pf.ports().isEmpty() ? queryPorts(head) : pf.ports();
      if (ports.isEmpty()) {
        throw new HttpHead.BadRequest(400, "query parameter \"port\" is required");
      }
      String protocol = acceptWebSocket(out, head, WebSocketPortForward.PROTOCOLS);
      WebSocketPortForward.serve(ctx, s, in, out, protocol, pf.podSandboxId(), ports);
    } else {
      acceptSpdy(out, head, List.of(SpdyPortForward.PROTOCOL));
      SpdyPortForward.serve(ctx, s, in, out, pf);
    }
  }

  private static List<Integer> queryPorts(HttpHead head) throws HttpHead.BadRequest {
    List<Integer> ports = new ArrayList<>();
    for (String v : head.query().getOrDefault("port", List.of())) {
      for (String p : v.split(",")) {
        try {
          int port = Integer.parseInt(p.trim());
          if (port < 1 || port > 65535) {
            throw new NumberFormatException();
          }
          ports.add(port);
        } catch (NumberFormatException e) {
          throw new HttpHead.BadRequest(400, "unable to parse \"" + p + "\" as a port");
        }
      }
    }
    return ports;
  }

  /** kubelet's httpstream.Handshake plus the SPDY response upgrader; returns the negotiated protocol. */
  private static String acceptSpdy(OutputStream out, HttpHead head, List<String> supported)
      throws IOException, HttpHead.BadRequest {
    if (!head.isUpgrade() || !head.header("upgrade").map(u -> u.equalsIgnoreCase("SPDY/3.1")).orElse(false)) {
      throw new HttpHead.BadRequest(400, "unable to upgrade: missing upgrade headers in request (want "
          + "Connection: Upgrade and Upgrade: SPDY/3.1 or websocket)");
    }
    List<String> offered = head.headerTokens("x-stream-protocol-version");
    if (offered.isEmpty()) {
      throw new HttpHead.BadRequest(400, "unable to upgrade: X-Stream-Protocol-Version is required");
    }
    String chosen = offered.stream().filter(supported::contains).findFirst().orElseThrow(() -> new NegotiationFailed(
        "unable to upgrade: unable to negotiate protocol: client supports " + offered + ", server accepts "
            + supported, supported));
    Map<String, String> h = new LinkedHashMap<>();
    h.put("Connection", "Upgrade");
    h.put("Upgrade", "SPDY/3.1");
    h.put("X-Stream-Protocol-Version", chosen);
    HttpHead.writeSwitchingProtocols(out, h);
    return chosen;
  }

  /** RFC 6455 section 4.2 server handshake; returns the chosen subprotocol ("" when the client offered none). */
  private static String acceptWebSocket(OutputStream out, HttpHead head, List<String> supported)
      throws IOException, HttpHead.BadRequest {
    if (!head.header("sec-websocket-version").map("13"::equals).orElse(false)) {
      throw new HttpHead.BadRequest(400, "unable to upgrade: Sec-WebSocket-Version 13 is required");
    }
    String key = head.header("sec-websocket-key").orElse("");
    if (!WebSocketConnection.validKey(key)) {
      throw new HttpHead.BadRequest(400, "unable to upgrade: missing or malformed Sec-WebSocket-Key");
    }
    List<String> offered = head.headerTokens("sec-websocket-protocol");
    String chosen;
    if (offered.isEmpty()) {
      if (!supported.contains("")) {
        throw new HttpHead.BadRequest(400, "unable to upgrade: a subprotocol is required, one of " + supported);
      }
      chosen = "";
    } else {
      chosen = offered.stream().filter(p -> !p.isEmpty() && supported.contains(p)).findFirst().orElseThrow(
          () -> new HttpHead.BadRequest(400, "unable to upgrade: requested protocol(s) are not supported: "
              + offered + "; supports " + supported));
    }
    Map<String, String> h = new LinkedHashMap<>();
    h.put("Upgrade", "websocket");
    h.put("Connection", "Upgrade");
    h.put("Sec-WebSocket-Accept", WebSocketConnection.acceptKey(key));
    if (!chosen.isEmpty()) {
      h.put("Sec-WebSocket-Protocol", chosen);
    }
    HttpHead.writeSwitchingProtocols(out, h);
    return chosen;
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // nothing left to do
    }
  }

  @Override
  public String toString() {
    return "StreamingServer[" + baseUrl + "]";
  }

}
