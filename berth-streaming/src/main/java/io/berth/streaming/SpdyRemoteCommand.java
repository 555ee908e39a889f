package io.berth.streaming;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exec and attach over SPDY/3.1, as kubelet's {@code cri/streaming/remotecommand/httpstream.go}: the client opens
 * one stream per channel ({@code streamType} error, stdin, stdout, stderr, resize); the session starts once every
 * expected stream has arrived, or is dropped after the stream creation timeout.
 */
final class SpdyRemoteCommand {
  private static final Logger log = LoggerFactory.getLogger(SpdyRemoteCommand.class);
  static final String V5 = "v5.channel.k8s.io";
  static final String V4 = "v4.channel.k8s.io";
  static final String V3 = "v3.channel.k8s.io";
  static final String V2 = "v2.channel.k8s.io";
  static final String V1 = "channel.k8s.io";
  static final List<String> PROTOCOLS = List.of(V5, V4, V3, V2, V1);
  private static final Set<String> TYPES = Set.of("error", "stdin", "stdout", "stderr", "resize");

  private final SessionContext ctx;
  private final RemoteCommand.Target target;
  private final String protocol;
  private final SpdyConnection conn;
  private final LinkedBlockingQueue<SpdyStream> arrivals = new LinkedBlockingQueue<>();
  private final TerminalSizeQueue resizes = new TerminalSizeQueue();
  private volatile boolean gone;
  private volatile Thread sessionThread;

  private SpdyRemoteCommand(SessionContext ctx, Socket socket, InputStream in, OutputStream out, String protocol,
      RemoteCommand.Target target) {
    this.ctx = ctx;
    this.target = target;
    this.protocol = protocol;
    this.conn = new SpdyConnection(socket, in, out, new SpdyConnection.StreamHandler() {
      @Override
      public Optional<String> check(SpdyStream s) {
        String type = s.header("streamType").orElse("");
        return TYPES.contains(type) ? Optional.empty() : Optional.of("unexpected stream type \"" + type + "\"");
      }

      @Override
      public void accepted(SpdyStream s) {
        arrivals.add(s);
      }
    }, ctx.idleTimeout, ctx.scheduler);
  }

  /** Serves the upgraded connection on the calling thread until it closes. */
  static void serve(SessionContext ctx, Socket socket, InputStream in, OutputStream out, String protocol,
      RemoteCommand.Target target) {
    SpdyRemoteCommand c = new SpdyRemoteCommand(ctx, socket, in, out, protocol, target);
    c.conn.onClose(c::abort);
    ctx.spawn(c::session);
    c.conn.serve();
  }

  private void abort() {
    gone = true;
    resizes.close();
    Thread t = sessionThread;
    if (t != null) {
      t.interrupt();
    }
  }

  private boolean supportsResize() {
    return !protocol.equals(V2) && !protocol.equals(V1);
  }

  private void session() {
    sessionThread = Thread.currentThread();
    if (gone) {
      return;
    }
    RemoteCommand.Options o = target.options();
    int expected = 1 + (o.stdin() ? 1 : 0) + (o.stdout() ? 1 : 0) + (o.stderr() ? 1 : 0)
        + (o.tty() && supportsResize() ? 1 : 0);
    Map<String, SpdyStream> streams = new HashMap<>();
    try {
      long deadline = System.nanoTime() + ctx.streamCreationTimeout.toNanos();
      int received = 0;
      while (received < expected) {
        SpdyStream s = arrivals.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        if (s == null) {
          log.info("{} session for container {}: timed out waiting for the client to create streams",
              target.isExec() ? "exec" : "attach", target.containerId());
          conn.terminate();
          return;
        }
        String type = s.header("streamType").orElseThrow();
        if (streams.containsKey(type)) {
          s.reset(); // one stream per channel
          continue;
        }
        streams.put(type, s);
        if (isExpected(type, o)) {
          received++;
        }
      }
    } catch (InterruptedException e) {
      return; // the client went away while we waited
    }

    SpdyStream resize = o.tty() ? streams.get("resize") : null;
    if (resize != null) {
      ctx.spawn(() -> resizes.pump(resize.input()));
    } else {
      resizes.close();
    }
    InputStream stdin = o.stdin() ? streams.get("stdin").input() : null;
    OutputStream stdout = o.stdout() ? streams.get("stdout").output() : null;
    OutputStream stderr = o.stderr() ? streams.get("stderr").output() : null;
    RemoteCommand.Outcome outcome = RemoteCommand.run(ctx.backend, target, stdin, stdout, stderr, resizes,
        () -> gone);
    resizes.close();
    if (gone) {
      return;
    }
    for (String type : List.of("stdout", "stderr", "stdin", "resize")) {
      SpdyStream s = streams.get(type);
      if (s != null) {
        s.pipe.closeRead();
        s.closeLocal();
      }
    }
    SpdyStream error = streams.get("error");
    try {
      boolean v4 = protocol.equals(V4) || protocol.equals(V5);
      String status = v4 ? outcome.json() : outcome.message();
      if (status != null) {
        error.output().write(status.getBytes(StandardCharsets.UTF_8));
      }
    } catch (IOException e) {
      log.debug("status for container {} not delivered: {}", target.containerId(), e.toString());
    }
    error.closeLocal();
    conn.finish(ctx.linger);
  }

  private boolean isExpected(String type, RemoteCommand.Options o) {
    return switch (type) {
      case "error" -> true;
      case "stdin" -> o.stdin();
      case "stdout" -> o.stdout();
      case "stderr" -> o.stderr();
      case "resize" -> o.tty() && supportsResize();
      default -> false;
    };
  }
}
