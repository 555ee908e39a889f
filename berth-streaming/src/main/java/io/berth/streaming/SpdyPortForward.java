package io.berth.streaming;

import io.berth.core.BerthException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code portforward.k8s.io} over SPDY/3.1, as kubelet's {@code cri/streaming/portforward/httpstream.go}: each
 * forwarded connection is a pair of client streams (streamType {@code error} and {@code data}) carrying the same
 * {@code port} and {@code requestID} headers; many pairs may share one session.
 */
final class SpdyPortForward {
  private static final Logger log = LoggerFactory.getLogger(SpdyPortForward.class);
  static final String PROTOCOL = "portforward.k8s.io";

  private final class Pair {
    final String requestId;
    SpdyStream data;
    SpdyStream error;
    ScheduledFuture<?> timeout;

    Pair(String requestId) {
      this.requestId = requestId;
    }
  }

  private final SessionContext ctx;
  private final PortForwardRequest request;
  private final SpdyConnection conn;
  private final Map<String, Pair> pending = new ConcurrentHashMap<>();
  private final Set<Thread> running = ConcurrentHashMap.newKeySet();

  private SpdyPortForward(SessionContext ctx, Socket socket, InputStream in, OutputStream out,
      PortForwardRequest request) {
    this.ctx = ctx;
    this.request = request;
    this.conn = new SpdyConnection(socket, in, out, new SpdyConnection.StreamHandler() {
      @Override
      public Optional<String> check(SpdyStream s) {
        return SpdyPortForward.this.check(s);
      }

      @Override
      public void accepted(SpdyStream s) {
        add(s);
      }
    }, ctx.idleTimeout, ctx.scheduler);
  }

  static void serve(SessionContext ctx, Socket socket, InputStream in, OutputStream out, PortForwardRequest request) {
    SpdyPortForward pf = new SpdyPortForward(ctx, socket, in, out, request);
    pf.conn.onClose(pf::abort);
    pf.conn.serve();
  }

  private Optional<String> check(SpdyStream s) {
    Optional<String> portHeader = s.header("port");
    if (portHeader.isEmpty() || portHeader.get().isEmpty()) {
      return Optional.of("\"port\" header is required");
    }
    int port;
    try {
      port = Integer.parseInt(portHeader.get());
    } catch (NumberFormatException e) {
      return Optional.of("unable to parse \"" + portHeader.get() + "\" as a port");
    }
    if (port < 1 || port > 65535) {
      return Optional.of("port \"" + portHeader.get() + "\" must be > 0 and < 65536");
    }
    if (!request.ports().isEmpty() && !request.ports().contains(port)) {
      return Optional.of("port " + port + " was not requested");
    }
    String type = s.header("streamType").orElse("");
    if (!type.equals("error") && !type.equals("data")) {
      return Optional.of("invalid stream type \"" + type + "\"");
    }
    return Optional.empty();
  }

  private String requestId(SpdyStream s) {
    Optional<String> id = s.header("requestID");
    if (id.isPresent() && !id.get().isEmpty()) {
      return id.get();
    }
    // Old clients send no requestID: the error stream of a pair precedes its data stream (kubelet's fallback).
    return Integer.toString(s.header("streamType").orElse("").equals("error") ? s.id : s.id - 2);
  }

  private void add(SpdyStream s) {
    String id = requestId(s);
    Pair p = pending.computeIfAbsent(id, Pair::new);
    boolean complete;
    synchronized (p) {
      boolean isError = s.header("streamType").orElse("").equals("error");
      if (isError ? p.error != null : p.data != null) {
        s.reset();
        return;
      }
      if (isError) {
        p.error = s;
      } else {
        p.data = s;
      }
      complete = p.error != null && p.data != null;
      if (!complete && p.timeout == null) {
        p.timeout = ctx.scheduler.schedule(() -> expire(p), ctx.streamCreationTimeout.toMillis(),
            TimeUnit.MILLISECONDS);
      }
      if (complete && p.timeout != null) {
        p.timeout.cancel(false);
      }
    }
    if (complete) {
      pending.remove(id);
      ctx.spawn(() -> forward(p));
    }
  }

  private void expire(Pair p) {
    if (pending.remove(p.requestId, p)) {
      synchronized (p) {
        String m = "timed out waiting for streams of request " + p.requestId;
        log.debug(m);
        if (p.error != null) {
          try {
            p.error.output().write(m.getBytes(StandardCharsets.UTF_8));
          } catch (IOException e) {
            log.trace("error not delivered: {}", e.toString());
          }
          p.error.closeLocal();
        }
        if (p.data != null) {
          p.data.reset();
        }
      }
    }
  }

  private void forward(Pair p) {
    Thread self = Thread.currentThread();
    running.add(self);
    int port = Integer.parseInt(p.data.header("port").orElseThrow());
    try {
      if (conn.isClosed()) {
        return;
      }
      ctx.backend.portForward(request.podSandboxId(), port, p.data.input(), p.data.output());
    } catch (IOException | BerthException e) {
      if (conn.isClosed()) {
        return;
      }
      String msg = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
      boolean keepConnection = e instanceof IOException && (msg.contains("Broken pipe")
          || msg.contains("Connection reset"));
      log.debug("port forward to {} port {} failed: {}", request.podSandboxId(), port, msg);
      String text = "error forwarding port " + port + " to pod " + request.podSandboxId() + ", uid : " + msg;
      try {
        p.error.output().write(StatusJson.portForwardError(text, !keepConnection).getBytes(StandardCharsets.UTF_8));
      } catch (IOException ignored) {
        // the client is gone
      }
    } catch (RuntimeException e) {
      log.error("port forward to {} port {} failed", request.podSandboxId(), port, e);
    } finally {
      running.remove(self);
      p.data.pipe.closeRead();
      p.data.closeLocal();
      p.error.closeLocal();
    }
  }

  private void abort() {
    for (Pair p : pending.values()) {
      if (p.timeout != null) {
        p.timeout.cancel(false);
      }
    }
    pending.clear();
    for (Thread t : running) {
      t.interrupt();
    }
  }
}
