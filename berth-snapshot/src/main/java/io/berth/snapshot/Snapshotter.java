package io.berth.snapshot;

import io.berth.core.Digest;
import io.berth.core.MediaTypes;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;

/**
 * Stores unpacked image layers and the writable snapshots containers run on, in the manner of containerd's
 * {@code core/snapshots}.
 *
 * <p>Terms and lifecycle:
 * <ul>
 *   <li>A <em>layer</em> is one image layer blob unpacked into its own directory, keyed by its chain ID (OCI image spec
 *       "ChainID": it names the layer together with every layer below it). Overlay layers do not depend on one
 *       another on disk, so the layers of one image may be applied concurrently, in any order. Layers are shared by
 *       every image and container that has them and are never written after {@link #applyLayer} returns.</li>
 *   <li>An <em>active snapshot</em> is a container's writable layer, named by a caller-chosen key: an empty upper dir
 *       plus overlayfs's work dir, stacked over a list of layers by {@link #prepare}. {@link #mount} mounts it;
 *       {@link #remove} unmounts it if needed and deletes it.</li>
 * </ul>
 *
 * <p>All directories are created mode 0700 (CVE-2024-25621). Work in progress lives in {@code root/tmp} and is moved
 * into place with an atomic rename, so a crash leaves only {@code root/tmp}, which is swept when the snapshotter is
 * opened. Thread-safe; work on one chain ID or one key is serialized, work on different ones runs in parallel.
 */
public interface Snapshotter {

  /**
   * Opens (creating if needed) an overlayfs snapshotter: layers in {@code root/layers/<chainId-hex>/fs}, active
   * snapshots in {@code root/active/<key>/{upper,work}}. Sweeps leftovers in {@code root/tmp}.
   */
  static Snapshotter overlay(Path root) {
    return OverlaySnapshotter.open(root);
  }

  boolean hasLayer(Digest chainId);

  /**
   * Unpacks one layer blob into its own directory keyed by {@code chainId}. Decompresses per {@code compression},
   * computes the sha256 of the uncompressed tar while reading and compares it to {@code expectedDiffId}. Unpacks into
   * {@code root/tmp/<random>}, then renames into place; on any failure removes the temp dir and throws: INVALID_ARGUMENT
   * for hostile or corrupt content (naming the entry) or a diff-id mismatch, RESOURCE_EXHAUSTED for a full disk,
   * INTERNAL otherwise. If the layer already exists it is returned as is. Concurrent calls for one chain ID unpack it
   * once.
   */
  LayerInfo applyLayer(Digest chainId, InputStream blob, MediaTypes.Compression compression, Digest expectedDiffId);

  /** An unpacked layer; {@code unpackedBytes} is the size of the uncompressed tar stream. */
  record LayerInfo(Digest chainId, Digest diffId, long unpackedBytes) {}

  /** The root directory of an unpacked layer; NOT_FOUND if absent. */
  Path layerDir(Digest chainId);

  /** Removes a layer; idempotent. FAILED_PRECONDITION while an active snapshot stacks on it. */
  void removeLayer(Digest chainId);

  /** Chain IDs of all unpacked layers. */
  List<Digest> layers();

  /**
   * Creates a writable snapshot {@code key} over the given layers (bottom-most first, the order of the image config's
   * {@code rootfs.diff_ids}) and returns the mount that shows it; does not mount. ALREADY_EXISTS if the key exists,
   * NOT_FOUND if a layer is missing, INVALID_ARGUMENT for a key that is not a plain file name.
   */
  Mount prepare(String key, List<Digest> chainIdsBottomFirst);

  /**
   * A mount as {@code mount(8)} takes it. For overlay: type and source {@code overlay}, options {@code lowerdir=top:...:bottom},
   * {@code upperdir=}, {@code workdir=} and possibly {@code index=off}. For a snapshot over no layers: a bind mount of
   * the upper dir.
   */
  record Mount(String type, String source, List<String> options) {
    public Mount {
      options = List.copyOf(options);
    }
  }

  /**
   * Mounts the prepared snapshot {@code key} at {@code target}. Mount data longer than the kernel's page-size limit
   * (many layers) is shortened by naming the lower dirs through {@code /proc/self/fd/N} of open directory fds.
   */
  void mount(String key, Path target);

  /**
   * How a snapshot is shown to a pod in its own user namespace: every layer is an idmapped mount through the
   * mappings of the user namespace {@code userns} (a pinned nsfs file), so files owned by ids 0.. on disk show as
   * owned by the namespace's 0.. inside; and the upper dir's root belongs to the namespace's root on the host
   * ({@code rootUid:rootGid}), so that root can create files in it.
   */
  record Idmap(Path userns, long rootUid, long rootGid) {
    public Idmap {
      if (userns == null || rootUid < 1 || rootGid < 1) {
        throw new IllegalArgumentException("idmap needs a user namespace and a non-root owner");
      }
    }
  }

  /**
   * Mounts the prepared snapshot {@code key} at {@code target} for a pod in a user namespace (see {@link Idmap}). The
   * idmapped layers are detached mounts (open_tree(2) + mount_setattr(2)) that overlayfs takes by fd and keeps
   * private clones of: only the overlay mount itself is attached, so {@link #remove} and {@link #unmount} release
   * everything. Files the pod writes land in the upper dir with the ids the host sees for them (the mapped ones).
   * INTERNAL when the kernel or file system cannot idmap; check {@link #supportsIdmappedLayers()} first.
   */
  void mount(String key, Path target, Idmap idmap);

  /**
   * Whether {@link #mount(String, Path, Idmap)} works on this host and file system: probed once, with a throwaway
   * user namespace and overlay in {@code root/tmp}; the answer is cached.
   */
  boolean supportsIdmappedLayers();

  /** Unmounts {@code target} (lazy detach); idempotent: a path that is not a mount point is fine. */
  void unmount(Path target);

  /** Removes an active snapshot; idempotent: unmounts every mount of it first, then deletes upper and work. */
  void remove(String key);

  /** Keys of all active snapshots. */
  List<String> active();

  /** Bytes really used on disk (allocated blocks, hard links counted once) by all layers and active snapshots. */
  long usageBytes();

  /** Bytes really used on disk by the writable layer of one active snapshot (for container stats); NOT_FOUND if absent. */
  long activeUsageBytes(String key);
}
