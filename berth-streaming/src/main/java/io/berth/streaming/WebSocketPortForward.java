package io.berth.streaming;

import io.berth.core.BerthException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Port forwarding over WebSocket, as kubelet's {@code cri/streaming/portforward/websocket.go}: for the i-th port,
 * channel 2i carries data both ways and channel 2i+1 errors; the server starts each of them with the port as two
 * little-endian bytes. The session ends when every port's forward has ended.
 */
final class WebSocketPortForward {
  private static final Logger log = LoggerFactory.getLogger(WebSocketPortForward.class);
  static final List<String> PROTOCOLS = List.of(WebSocketRemoteCommand.V4, WebSocketRemoteCommand.V4_BASE64, "");

  private final SessionContext ctx;
  private final String podSandboxId;
  private final List<Integer> ports;
  private final WebSocketConnection conn;
  private final BoundedPipe[] pipes;
  private final Set<Thread> running = ConcurrentHashMap.newKeySet();
  private final AtomicInteger remaining;

  private WebSocketPortForward(SessionContext ctx, WebSocketConnection conn, String podSandboxId, List<Integer> ports) {
    this.ctx = ctx;
    this.conn = conn;
    this.podSandboxId = podSandboxId;
    this.ports = ports;
    this.pipes = new BoundedPipe[ports.size()];
    for (int i = 0; i < pipes.length; i++) {
      pipes[i] = new BoundedPipe(SpdyConnection.DEFAULT_WINDOW, n -> { });
    }
    this.remaining = new AtomicInteger(ports.size());
  }

  static void serve(SessionContext ctx, Socket socket, InputStream in, OutputStream out, String protocol,
      String podSandboxId, List<Integer> ports) {
    WebSocketConnection conn = new WebSocketConnection(socket, in, out, protocol.contains("base64"),
        ctx.idleTimeout, ctx.scheduler);
    WebSocketPortForward pf = new WebSocketPortForward(ctx, conn, podSandboxId, ports);
    conn.onClose(pf::abort);
    try {
      for (int i = 0; i < ports.size(); i++) {
        byte[] le = {(byte) (int) ports.get(i), (byte) (ports.get(i) >>> 8)};
        conn.send(2 * i, le, 0, 2);
        conn.send(2 * i + 1, le, 0, 2);
      }
    } catch (IOException e) {
      conn.terminate();
      return;
    }
    for (int i = 0; i < ports.size(); i++) {
      int idx = i;
      ctx.spawn(() -> pf.forward(idx));
    }
    conn.serve(pf::onMessage);
  }

  private void onMessage(int channel, byte[] data) {
    if (channel % 2 == 0 && channel / 2 < pipes.length) {
      try {
        pipes[channel / 2].write(data, 0, data.length);
      } catch (IOException e) {
        log.trace("data for a finished port dropped");
      }
    }
  }

  private void forward(int i) {
    Thread self = Thread.currentThread();
    running.add(self);
    int port = ports.get(i);
    try {
      if (!conn.isClosed()) {
        ctx.backend.portForward(podSandboxId, port, pipes[i].inputStream(), conn.channelOutput(2 * i));
      }
    } catch (IOException | BerthException e) {
      if (!conn.isClosed()) {
        String msg = "error forwarding port " + port + " to pod " + podSandboxId + ", uid : " + e.getMessage();
        log.debug(msg);
        byte[] b = msg.getBytes(StandardCharsets.UTF_8);
        try {
          conn.send(2 * i + 1, b, 0, b.length);
        } catch (IOException ignored) {
          // the client is gone
        }
      }
    } catch (RuntimeException e) {
      log.error("port forward to {} port {} failed", podSandboxId, port, e);
    } finally {
      running.remove(self);
      pipes[i].closeRead();
      if (remaining.decrementAndGet() == 0) {
        conn.finish(ctx.linger);
      }
    }
  }

  private void abort() {
    for (BoundedPipe p : pipes) {
      p.abort();
    }
    for (Thread t : running) {
      t.interrupt();
    }
  }
}
