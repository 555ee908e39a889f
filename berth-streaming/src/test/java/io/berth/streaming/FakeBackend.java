package io.berth.streaming;

import io.berth.core.BerthException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A scripted backend for the tests (the real one runs processes through the OCI runtime). Commands:
 * {@code out TEXT}, {@code err TEXT}, {@code exit CODE}, {@code cat} (stdin to stdout, then "eof" on stderr if
 * present), {@code big N} (N bytes on stdout), {@code resizes N} (prints N resize events), {@code block} (waits
 * for stdin EOF or interruption). Container "missing" is NOT_FOUND, "stopped" FAILED_PRECONDITION. Events of
 * interest go to {@link #events}.
 */
final class FakeBackend implements StreamingBackend {
  final BlockingQueue<String> events = new LinkedBlockingQueue<>();
  final AtomicInteger running = new AtomicInteger();

  @Override
  public int exec(String containerId, List<String> cmd, boolean tty, InputStream stdin, OutputStream stdout,
      OutputStream stderr, ResizeQueue resizes) throws IOException {
    check(containerId);
    running.incrementAndGet();
    try {
      return run(cmd, stdin, stdout, stderr, resizes);
    } finally {
      running.decrementAndGet();
    }
  }

  @Override
  public int attach(String containerId, boolean tty, InputStream stdin, OutputStream stdout, OutputStream stderr,
      ResizeQueue resizes) throws IOException {
    check(containerId);
    running.incrementAndGet();
    try {
      return run(List.of("cat"), stdin, stdout, stderr, resizes);
    } finally {
      running.decrementAndGet();
    }
  }

  private static void check(String containerId) {
    if (containerId.equals("missing")) {
      throw BerthException.notFound("container %s not found", containerId);
    }
    if (containerId.equals("stopped")) {
      throw BerthException.failedPrecondition("container %s is not running", containerId);
    }
  }

  private int run(List<String> cmd, InputStream stdin, OutputStream stdout, OutputStream stderr,
      ResizeQueue resizes) throws IOException {
    String arg = cmd.size() > 1 ? cmd.get(1) : "";
    switch (cmd.getFirst()) {
      case "out" -> {
        stdout.write(arg.getBytes(StandardCharsets.UTF_8));
        if (cmd.size() > 2) {
          stderr.write(cmd.get(2).getBytes(StandardCharsets.UTF_8));
        }
        return cmd.size() > 3 ? Integer.parseInt(cmd.get(3)) : 0;
      }
      case "exit" -> {
        stdout.write("bye".getBytes(StandardCharsets.UTF_8));
        return Integer.parseInt(arg);
      }
      case "cat" -> {
        byte[] buf = new byte[8192];
        for (int n = stdin.read(buf); n >= 0; n = stdin.read(buf)) {
          stdout.write(buf, 0, n);
        }
        events.add("stdin-eof");
        if (stderr != null) {
          stderr.write("eof".getBytes(StandardCharsets.UTF_8));
        }
        return 0;
      }
      case "big" -> {
        int n = Integer.parseInt(arg);
        byte[] chunk = new byte[10_000];
        for (int i = 0; i < chunk.length; i++) {
          chunk[i] = (byte) ('a' + i % 26);
        }
        for (int left = n; left > 0; left -= chunk.length) {
          stdout.write(chunk, 0, Math.min(left, chunk.length));
        }
        return 0;
      }
      case "resizes" -> {
        int n = Integer.parseInt(arg);
        try {
          for (int i = 0; i < n; i++) {
            TerminalSize s = resizes.next().orElseThrow();
            stdout.write((s.width() + "x" + s.height() + "\n").getBytes(StandardCharsets.UTF_8));
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new java.io.InterruptedIOException();
        }
        return 0;
      }
      case "block" -> {
        stdout.write("started".getBytes(StandardCharsets.UTF_8));
        events.add("blocking");
        try {
          byte[] buf = new byte[1024];
          while (stdin != null && stdin.read(buf) >= 0) {
            // drain
          }
          if (stdin == null) {
            Thread.sleep(Long.MAX_VALUE);
          }
          events.add("block-eof");
          // a client that vanished makes writes fail
          while (true) {
            stdout.write("x".getBytes(StandardCharsets.UTF_8));
            Thread.sleep(5);
          }
        } catch (InterruptedException e) {
          events.add("block-interrupted");
          return 130;
        } catch (IOException e) {
          events.add("block-write-failed");
          throw e;
        }
      }
      default -> throw new IllegalArgumentException(cmd.toString());
    }
  }

  /** Forwards to 127.0.0.1:port, as the real backend does inside the pod's netns. */
  @Override
  public void portForward(String podSandboxId, int port, InputStream fromClient, OutputStream toClient)
      throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
      Thread up = Thread.ofVirtual().start(() -> {
        try {
          fromClient.transferTo(s.getOutputStream());
          s.shutdownOutput();
        } catch (IOException e) {
          // connection closed under us
        }
      });
      try {
        s.getInputStream().transferTo(toClient);
      } finally {
        s.close();
        try {
          up.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      events.add("forward-done:" + port);
    }
  }
}
