package io.berth.cri;

import io.berth.core.BerthException;
import io.berth.core.Undo;
import io.berth.image.Image;
import io.berth.image.PullListener;
import io.berth.oci.InfraRequest;
import io.berth.oci.RuntimeOptions;
import io.berth.oci.SandboxInfo;
import io.berth.snapshot.Snapshotter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The infra process from a pause image ({@code [pod] infra = "image"}), as containerd and CRI-O run it: the image is
 * pulled when missing (anonymously or with the configured registry credentials) and pinned, so image pruning never
 * removes it; its layers become the infra's read-only rootfs, a snapshot keyed by the sandbox id; its entrypoint and
 * cmd are the process.
 */
final class PauseImage {
  private static final Logger log = LoggerFactory.getLogger(PauseImage.class);

  private PauseImage() {}

  /**
   * Mounts the pause image's rootfs at {@code bundle/rootfs}, pushing its undo, and returns the infra request. In a
   * pod with its own user namespace ({@code idmap}) the layers are mounted idmapped, as containers' are, so the
   * image's files show as the pod's root's inside it.
   */
  static InfraRequest prepare(RuntimeState st, String ref, String sandboxId, Path bundle, SandboxInfo info,
      RuntimeOptions options, Optional<Snapshotter.Idmap> idmap, Undo undo) throws IOException {
    Image image = st.images.find(ref).orElseGet(() -> {
      log.info("pulling pause image {} for sandbox {}", ref, sandboxId);
      try {
        return st.images.pull(ref, Optional.empty(), PullListener.NONE);
      } catch (BerthException e) {
        throw BerthException.wrap(e, "cannot pull pause image %s", ref);
      }
    });
    if (!image.pinned()) {
      st.images.pin(image.id().toString(), true); // once, not a database write on every pod start
    }
    List<String> command = new ArrayList<>(image.entrypoint());
    command.addAll(image.cmd());
    if (command.isEmpty()) {
      throw BerthException.failedPrecondition("pause image %s has neither entrypoint nor cmd", ref);
    }
    Path rootfs = Files.createDirectories(bundle.resolve("rootfs"));
    st.snapshotter.prepare(sandboxId, image.chainIds());
    undo.push("remove infra snapshot", () -> st.snapshotter.remove(sandboxId));
    if (idmap.isPresent()) {
      st.snapshotter.mount(sandboxId, rootfs, idmap.get());
    } else {
      st.snapshotter.mount(sandboxId, rootfs);
    }
    undo.push("unmount infra rootfs", () -> st.snapshotter.unmount(rootfs));
    return InfraRequest.image(info, rootfs, command, options);
  }

  /** Unmounts and removes the rootfs {@link #prepare} made; idempotent. */
  static void release(RuntimeState st, String sandboxId, String rootfs) {
    if (rootfs.isEmpty()) {
      return;
    }
    st.snapshotter.unmount(Path.of(rootfs));
    st.snapshotter.remove(sandboxId);
  }
}
