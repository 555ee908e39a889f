package io.berth.cri;

import com.google.protobuf.ByteString;
import io.berth.core.BerthException;
import io.berth.cri.api.ContainerState;
import io.berth.cri.api.ExecSyncRequest;
import io.berth.cri.api.ExecSyncResponse;
import io.berth.cri.api.ReopenContainerLogRequest;
import io.berth.cri.api.ReopenContainerLogResponse;
import io.berth.cri.api.UpdateContainerResourcesRequest;
import io.berth.cri.api.UpdateContainerResourcesResponse;
import io.berth.cri.api.ext.ContainerRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** Calls on a running container: ExecSync, UpdateContainerResources, ReopenContainerLog. */
final class ContainerOps {
  /** Output kept per stream of an ExecSync: a chatty probe cannot exhaust berthd's memory (CVE-2022-31030). */
  static final long MAX_EXEC_OUTPUT = 16L << 20;
  private static final Duration REOPEN_WAIT = Duration.ofSeconds(5);

  private final RuntimeState st;
  private final StatusViews views;

  ContainerOps(RuntimeState st, StatusViews views) {
    this.st = st;
    this.views = views;
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

  ExecSyncResponse execSync(ExecSyncRequest req) {
    if (req.getCmdCount() == 0) {
      throw BerthException.invalidArgument("exec needs a command");
    }
    Container c = running(req.getContainerId());
    Duration timeout = req.getTimeout() > 0 ? Duration.ofSeconds(req.getTimeout()) : Duration.ZERO;
    OciRuntimes.ExecResult r = st.runtimes.handler(c.record().getRuntimeHandler())
        .execSync(c.id(), req.getCmdList(), timeout, MAX_EXEC_OUTPUT);
    if (r.timedOut()) {
      throw BerthException.deadlineExceeded("command %s in container %s timed out after %ds", req.getCmdList(),
          c.id(), req.getTimeout());
    }
    return ExecSyncResponse.newBuilder().setStdout(ByteString.copyFrom(r.stdout()))
        .setStderr(ByteString.copyFrom(r.stderr())).setExitCode(r.exitCode()).build();
  }

  UpdateContainerResourcesResponse update(UpdateContainerResourcesRequest req) {
    Container c = st.containers.get(req.getContainerId());
    try (var held = st.locks.lock(c.id())) {
      ContainerRecord r = c.record();
      if (r.getState() == ContainerState.CONTAINER_EXITED_VALUE) {
        throw BerthException.failedPrecondition("container %s has exited", c.id());
      }
      OciRuntimes.Handler h = st.runtimes.handler(r.getRuntimeHandler());
      if (r.getState() == ContainerState.CONTAINER_RUNNING_VALUE) {
        h.updateResources(c.id(), req.getLinux());
      }
      var config = r.getConfig().toBuilder();
      config.getLinuxBuilder().setResources(req.getLinux());
      st.save(c, r.toBuilder().setConfig(config).build());
    }
    return UpdateContainerResourcesResponse.getDefaultInstance();
  }

  ReopenContainerLogResponse reopenLog(ReopenContainerLogRequest req) {
    Container c = running(req.getContainerId());
    st.runtimes.handler(c.record().getRuntimeHandler()).reopenLog(c.id());
    // conmon reopens the file when it reads its control FIFO, after our write returned; the caller (kubelet's log
    // rotation, critest) looks for the new file as soon as this call returns, as CRI-O waits for it too.
    if (!c.record().getLogPath().isEmpty()) {
      Path log = Path.of(c.record().getLogPath());
      long deadline = System.nanoTime() + REOPEN_WAIT.toNanos();
      while (!Files.exists(log)) {
        if (System.nanoTime() - deadline > 0) {
          throw BerthException.deadlineExceeded("conmon did not reopen %s within %s", log, REOPEN_WAIT);
        }
        try {
          Thread.sleep(5);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw BerthException.cancelled("reopen log of %s interrupted", c.id());
        }
      }
    }
    return ReopenContainerLogResponse.getDefaultInstance();
  }
}
