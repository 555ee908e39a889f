package io.berth.cri;

import io.berth.core.BerthException;
import io.berth.cri.api.ContainerEventType;
import io.berth.cri.api.RemoveContainerRequest;
import io.berth.cri.api.RemoveContainerResponse;
import io.berth.cri.api.ext.ContainerRecord;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * RemoveContainer: kills it if still running, deletes it from its runtime, unmounts and removes its rootfs snapshot,
 * its files and record, and frees its name. Idempotent; an unknown id succeeds.
 */
final class RemoveContainer {
  private static final Logger log = LoggerFactory.getLogger(RemoveContainer.class);

  private final RuntimeState st;
  private final StopContainer stop;
  private final StatusViews views;

  RemoveContainer(RuntimeState st, StopContainer stop, StatusViews views) {
    this.st = st;
    this.stop = stop;
    this.views = views;
  }

  RemoveContainerResponse remove(RemoveContainerRequest req) {
    if (req.getContainerId().isEmpty()) {
      throw BerthException.invalidArgument("container id is empty");
    }
    Optional<Container> c = st.containers.find(req.getContainerId());
    c.ifPresent(this::remove);
    return RemoveContainerResponse.getDefaultInstance();
  }

  void remove(Container c) {
    stop.stop(c, Duration.ZERO);
    try (var held = st.locks.lock(c.id())) {
      if (st.containers.find(c.id()).isEmpty()) {
        return; // removed meanwhile
      }
      ContainerRecord r = c.record();
      // From here on a crash leaves a record that says so: the removal is finished at the next start.
      st.save(c, r.toBuilder().setRemoving(true).build());
      st.runtimes.handler(r.getRuntimeHandler()).delete(c.id());
      PausePoint.reach("removecontainer.after-runtime-delete");
      Path rootfs = Path.of(r.getBundle()).resolve("rootfs");
      st.snapshotter.unmount(rootfs);
      st.snapshotter.remove(c.id());
      CreateContainer.unmountStaged(st.containerDir(c.id())); // left only by a crash during CreateContainer
      Dirs.deleteRecursively(st.containerDir(c.id()));
      st.records.deleteContainer(c.id());
      st.containers.remove(c.id());
      st.sandboxes.find(c.sandboxId()).ifPresent(s -> st.containers.releaseName(
          Container.reservationName(r.getConfig().getMetadata(), s.record().getConfig().getMetadata()), c.id()));
      log.info("container {} removed", c.id());
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot remove the files of container %s", c.id());
    }
    st.publish(c, ContainerEventType.CONTAINER_DELETED_EVENT, views);
  }
}
