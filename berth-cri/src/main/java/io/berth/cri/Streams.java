package io.berth.cri;

import io.berth.core.BerthException;
import io.berth.cri.api.AttachRequest;
import io.berth.cri.api.AttachResponse;
import io.berth.cri.api.ContainerState;
import io.berth.cri.api.ExecRequest;
import io.berth.cri.api.ExecResponse;
import io.berth.cri.api.PortForwardRequest;
import io.berth.cri.api.PortForwardResponse;
import io.berth.linux.Syscalls;
import io.berth.streaming.ResizeQueue;
import io.berth.streaming.StreamingBackend;
import io.berth.streaming.StreamingServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import io.berth.streaming.TerminalSize;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.CompletableFuture;

/**
 * Exec, Attach and PortForward: the CRI calls return a single-use URL on the streaming server; the server calls back
 * here ({@link StreamingBackend}) when the client connects.
 */
final class Streams implements StreamingBackend {
  private final RuntimeState st;
  private final StatusViews views;
  private final StreamingServer server;

  Streams(RuntimeState st, StatusViews views, StreamingServer server) {
    this.st = st;
    this.views = views;
    this.server = server;
  }

  ExecResponse exec(ExecRequest r) {
    running(r.getContainerId());
    return ExecResponse.newBuilder().setUrl(server.execUrl(new io.berth.streaming.ExecRequest(r.getContainerId(),
        r.getCmdList(), r.getTty(), r.getStdin(), r.getStdout(), r.getStderr()))).build();
  }

  AttachResponse attach(AttachRequest r) {
    running(r.getContainerId());
    return AttachResponse.newBuilder().setUrl(server.attachUrl(new io.berth.streaming.AttachRequest(
        r.getContainerId(), r.getStdin(), r.getTty(), r.getStdout(), r.getStderr()))).build();
  }

  PortForwardResponse portForward(PortForwardRequest r) {
    Sandbox s = st.sandboxes.get(r.getPodSandboxId());
    if (!s.ready()) {
      throw BerthException.failedPrecondition("sandbox %s is not ready", s.id());
    }
    return PortForwardResponse.newBuilder().setUrl(server.portForwardUrl(new io.berth.streaming.PortForwardRequest(
        s.id(), r.getPortList()))).build();
  }

  private Container running(String id) {
    if (id.isEmpty()) {
      throw BerthException.invalidArgument("container id is empty");
    }
    Container c = st.containers.get(id);
    views.refresh(c);
    if (c.record().getState() != ContainerState.CONTAINER_RUNNING_VALUE) {
      throw BerthException.failedPrecondition("container %s is not running", c.id());
    }
    return c;
  }

  @Override
  public int exec(String containerId, List<String> cmd, boolean tty, InputStream stdin, OutputStream stdout,
      OutputStream stderr, ResizeQueue resizes) throws IOException {
    Container c = running(containerId);
    // Resize events, read on their own thread from the moment the session starts: clients send the terminal's size
    // right after connecting, and waiting briefly for it lets a command that asks at once (stty, a pager) see it.
    BlockingQueue<Optional<TerminalSize>> sizes = new LinkedBlockingQueue<>();
    Thread sizeReader = tty && resizes != null ? Thread.startVirtualThread(() -> {
      try {
        for (var size = resizes.next(); size.isPresent(); size = resizes.next()) {
          sizes.add(size);
        }
      } catch (InterruptedException e) {
        // session over
      }
      sizes.add(Optional.empty());
    }) : null;
    TerminalSize initial = null;
    if (sizeReader != null) {
      try {
        Optional<TerminalSize> first = sizes.poll(INITIAL_SIZE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        initial = first == null ? null : first.orElse(null);
      } catch (InterruptedException e) {
        sizeReader.interrupt();
        Thread.currentThread().interrupt();
        throw new IOException("exec in " + c.id() + " cancelled: the client went away");
      }
    }
    try (io.berth.runtime.ExecSession p = st.runtimes.handler(c.record().getRuntimeHandler()).exec(c.id(), cmd, tty, initial)) {
      Thread in = Thread.startVirtualThread(() -> {
        pump(stdin, p.stdin(), false);
        p.closeStdin();
      });
      // A terminal's master is read in native code, which would pin a virtual thread's carrier.
      Thread out = (p.tty() ? Thread.ofPlatform().daemon().name("exec-tty-" + c.id()) : Thread.ofVirtual())
          .start(() -> pump(p.stdout(), stdout, false));
      Thread err = p.stderr() == null ? null : Thread.startVirtualThread(() -> pump(p.stderr(), stderr, false));
      Thread resizer = sizeReader == null ? null : Thread.startVirtualThread(() -> {
        try {
          for (var size = sizes.take(); size.isPresent(); size = sizes.take()) {
            p.resize(size.get().width(), size.get().height());
          }
        } catch (InterruptedException e) {
          // session over
        }
      });
      try {
        int code = p.waitFor();
        // A background child that kept the output open must not hold the session forever.
        out.join(OUTPUT_GRACE);
        if (err != null) {
          err.join(OUTPUT_GRACE);
        }
        return code;
      } catch (InterruptedException e) {
        // The client went away: kill the process, let the readers see the end, then release the terminal.
        p.kill();
        joinQuietly(out);
        Thread.currentThread().interrupt();
        throw new IOException("exec in " + c.id() + " cancelled: the client went away");
      } finally {
        in.interrupt();
        if (resizer != null) {
          resizer.interrupt();
        }
      }
    } finally {
      if (sizeReader != null) {
        sizeReader.interrupt();
      }
    }
  }

  /** How long a TTY exec waits for the client's first terminal size before it starts the command without one. */
  private static final java.time.Duration INITIAL_SIZE_WAIT = java.time.Duration.ofMillis(300);

  private static final java.time.Duration OUTPUT_GRACE = java.time.Duration.ofSeconds(2);

  private static void joinQuietly(Thread t) {
    try {
      t.join(OUTPUT_GRACE);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void pump(InputStream from, OutputStream to, boolean closeTo) {
    if (from == null) {
      if (closeTo) {
        try {
          to.close();
        } catch (IOException e) {
          // nothing to close
        }
      }
      return;
    }
    byte[] buf = new byte[32 * 1024];
    try {
      int n;
      while ((n = from.read(buf)) >= 0) {
        if (to != null) {
          to.write(buf, 0, n);
          to.flush();
        }
      }
    } catch (IOException e) {
      // the other side went away
    } finally {
      if (closeTo && to != null) {
        try {
          to.close();
        } catch (IOException e) {
          // already closed
        }
      }
    }
  }

  /** Through conmon's attach socket, as CRI-O; returns the exit code once the container exited, else 0. */
  @Override
  public int attach(String containerId, boolean tty, InputStream stdin, OutputStream stdout, OutputStream stderr,
      ResizeQueue resizes) throws IOException {
    Container c = running(containerId);
    if (stdin != null && !c.record().getConfig().getStdin()) {
      throw BerthException.failedPrecondition("container %s was not created with stdin", c.id());
    }
    if (tty && !c.record().getConfig().getTty()) {
      throw BerthException.failedPrecondition("container %s was not created with a tty", c.id());
    }
    OciRuntimes.Handler h = st.runtimes.handler(c.record().getRuntimeHandler());
    Thread resizer = null;
    if (tty && resizes != null) {
      resizer = Thread.startVirtualThread(() -> {
        try {
          for (var size = resizes.next(); size.isPresent(); size = resizes.next()) {
            h.resizeTerminal(c.id(), size.get().width(), size.get().height());
          }
        } catch (InterruptedException e) {
          // session over
        } catch (BerthException e) {
          // the container exited meanwhile
        }
      });
    }
    try {
      h.attach(c.id(), stdin, stdout, stderr);
    } finally {
      if (resizer != null) {
        resizer.interrupt();
      }
    }
    views.refresh(c);
    return c.record().getState() == ContainerState.CONTAINER_EXITED_VALUE ? c.record().getExitCode() : 0;
  }

  @Override
  public void portForward(String podSandboxId, int port, InputStream fromClient, OutputStream toClient)
      throws IOException {
    Sandbox s = st.sandboxes.get(podSandboxId);
    SocketChannel ch = connectInNetns(s.record().getNetnsPath(), port);
    try (ch) {
      CompletableFuture<Void> up = CompletableFuture.runAsync(() -> {
        try {
          fromClient.transferTo(Channels.newOutputStream(ch));
        } catch (IOException e) {
          // client or pod went away
        } finally {
          try {
            ch.shutdownOutput();
          } catch (IOException e) {
            // closed already
          }
        }
      }, Thread::startVirtualThread);
      Channels.newInputStream(ch).transferTo(toClient);
      up.join();
    }
  }

  /**
   * A socket made in the pod's network namespace belongs to it for life: make it on a platform thread that enters
   * the netns, then returns the thread to the host's before it ends.
   */
  static SocketChannel connectInNetns(String netnsPath, int port) throws IOException {
    if (netnsPath.isEmpty()) {
      return SocketChannel.open(new InetSocketAddress("127.0.0.1", port));
    }
    CompletableFuture<SocketChannel> f = new CompletableFuture<>();
    Thread t = Thread.ofPlatform().unstarted(() -> {
      int self = -1;
      int target = -1;
      try {
        self = Syscalls.openReadOnly("/proc/thread-self/ns/net");
        target = Syscalls.openReadOnly(netnsPath);
        Syscalls.setns(target, Syscalls.CLONE_NEWNET);
        try {
          f.complete(SocketChannel.open(new InetSocketAddress("127.0.0.1", port)));
        } finally {
          Syscalls.setns(self, Syscalls.CLONE_NEWNET);
        }
      } catch (Throwable e) {
        f.completeExceptionally(e);
      } finally {
        if (self >= 0) {
          Syscalls.close(self);
        }
        if (target >= 0) {
          Syscalls.close(target);
        }
      }
    });
    t.start();
    try {
      return f.join();
    } catch (java.util.concurrent.CompletionException e) {
      throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
    }
  }
}
