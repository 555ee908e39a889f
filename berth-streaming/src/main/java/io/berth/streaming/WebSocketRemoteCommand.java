package io.berth.streaming;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exec and attach over WebSocket, as kubelet's {@code cri/streaming/remotecommand/websocket.go}: channels 0 stdin,
 * 1 stdout, 2 stderr, 3 error, 4 resize; with {@code v5.channel.k8s.io} a message on channel 255 whose payload is a
 * channel number closes that channel (stdin EOF).
 */
final class WebSocketRemoteCommand {
  private static final Logger log = LoggerFactory.getLogger(WebSocketRemoteCommand.class);
  static final String V5 = "v5.channel.k8s.io";
  static final String V4 = "v4.channel.k8s.io";
  static final String V4_BASE64 = "v4.base64.channel.k8s.io";
  static final String V1 = "channel.k8s.io";
  static final String V1_BASE64 = "base64.channel.k8s.io";
  /** Subprotocols we speak; "" is a client that asked for none (treated as {@code channel.k8s.io}). */
  static final List<String> PROTOCOLS = List.of(V5, V4, V4_BASE64, V1, V1_BASE64, "");
  static final int STDIN = 0;
  static final int STDOUT = 1;
  static final int STDERR = 2;
  static final int ERROR = 3;
  static final int RESIZE = 4;
  static final int CLOSE = 255;

  private final SessionContext ctx;
  private final RemoteCommand.Target target;
  private final String protocol;
  private final WebSocketConnection conn;
  private final BoundedPipe stdin;
  private final TerminalSizeQueue resizes = new TerminalSizeQueue();
  private volatile boolean gone;
  private volatile Thread sessionThread;

  private WebSocketRemoteCommand(SessionContext ctx, WebSocketConnection conn, String protocol,
      RemoteCommand.Target target) {
    this.ctx = ctx;
    this.conn = conn;
    this.protocol = protocol;
    this.target = target;
    this.stdin = target.options().stdin() ? new BoundedPipe(SpdyConnection.DEFAULT_WINDOW, n -> { }) : null;
    if (!target.options().tty()) {
      resizes.close();
    }
  }

  static void serve(SessionContext ctx, Socket socket, InputStream in, OutputStream out, String protocol,
      RemoteCommand.Target target) {
    WebSocketConnection conn = new WebSocketConnection(socket, in, out, protocol.contains("base64"),
        ctx.idleTimeout, ctx.scheduler);
    WebSocketRemoteCommand c = new WebSocketRemoteCommand(ctx, conn, protocol, target);
    conn.onClose(c::abort);
    RemoteCommand.Options o = target.options();
    try {
      // kubelet's readiness signal: an empty message on the lowest writable channel
      conn.send(o.stdout() ? STDOUT : o.stderr() ? STDERR : ERROR, new byte[0], 0, 0);
    } catch (IOException e) {
      conn.terminate();
      return;
    }
    ctx.spawn(c::session);
    conn.serve(c::onMessage);
  }

  private void onMessage(int channel, byte[] data) {
    switch (channel) {
      case STDIN -> {
        if (stdin != null) {
          try {
            stdin.write(data, 0, data.length);
          } catch (IOException e) {
            log.trace("stdin after close dropped");
          }
        }
      }
      case RESIZE -> {
        if (target.options().tty()) {
          TerminalSizeQueue.parse(new String(data, StandardCharsets.UTF_8)).ifPresent(resizes::offer);
        }
      }
      case CLOSE -> {
        if (protocol.equals(V5) && data.length > 0 && data[0] == STDIN && stdin != null) {
          stdin.closeWrite();
        }
      }
      default -> { } // nothing else flows from client to server
    }
  }

  private void abort() {
    gone = true;
    if (stdin != null) {
      stdin.abort();
    }
    resizes.close();
    Thread t = sessionThread;
    if (t != null) {
      t.interrupt();
    }
  }

  private void session() {
    sessionThread = Thread.currentThread();
    if (gone) {
      return;
    }
    RemoteCommand.Options o = target.options();
    RemoteCommand.Outcome outcome = RemoteCommand.run(ctx.backend, target,
        stdin == null ? null : stdin.inputStream(),
        o.stdout() ? conn.channelOutput(STDOUT) : null,
        o.stderr() ? conn.channelOutput(STDERR) : null,
        resizes, () -> gone);
    resizes.close();
    if (stdin != null) {
      stdin.closeRead();
    }
    if (gone) {
      return;
    }
    boolean v4 = protocol.equals(V4) || protocol.equals(V4_BASE64) || protocol.equals(V5);
    String status = v4 ? outcome.json() : outcome.message();
    if (status != null) {
      try {
        byte[] b = status.getBytes(StandardCharsets.UTF_8);
        conn.send(ERROR, b, 0, b.length);
      } catch (IOException e) {
        log.debug("status for container {} not delivered: {}", target.containerId(), e.toString());
      }
    }
    conn.finish(ctx.linger);
  }
}
