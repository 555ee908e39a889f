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
import java.util.List;
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
    Process p = st.runtimes.handler(c.record().getRuntimeHandler()).exec(c.id(), cmd, tty);
    CompletableFuture<Void> in = CompletableFuture.runAsync(() -> pump(stdin, p.getOutputStream(), true),
        Thread::startVirtualThread);
    CompletableFuture<Void> out = CompletableFuture.runAsync(() -> pump(p.getInputStream(), stdout, false),
        Thread::startVirtualThread);
    CompletableFuture<Void> err = CompletableFuture.runAsync(() -> pump(p.getErrorStream(), stderr, false),
        Thread::startVirtualThread);
    try {
      int code = p.waitFor();
      out.join();
      err.join();
      in.cancel(true);
      return code;
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("exec interrupted");
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
