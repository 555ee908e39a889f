package io.berth.cri;

import io.berth.streaming.ResizeQueue;
import io.berth.streaming.StreamingBackend;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.function.Supplier;

/** Breaks the construction cycle between the streaming server and the service that hands out its URLs. */
record DelegatingBackend(Supplier<StreamingBackend> target) implements StreamingBackend {
  @Override
  public int exec(String containerId, List<String> cmd, boolean tty, InputStream stdin, OutputStream stdout,
      OutputStream stderr, ResizeQueue resizes) throws IOException {
    return target.get().exec(containerId, cmd, tty, stdin, stdout, stderr, resizes);
  }

  @Override
  public int attach(String containerId, boolean tty, InputStream stdin, OutputStream stdout, OutputStream stderr,
      ResizeQueue resizes) throws IOException {
    return target.get().attach(containerId, tty, stdin, stdout, stderr, resizes);
  }

  @Override
  public void portForward(String podSandboxId, int port, InputStream fromClient, OutputStream toClient)
      throws IOException {
    target.get().portForward(podSandboxId, port, fromClient, toClient);
  }
}
