package io.berth.metadata;

import io.berth.core.Digest;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Berth's metadata database: images (keyed by config digest) with their names and layers, a small key/value table,
 * and the sandbox and container records the runtime side needs to recover after a restart.
 *
 * <p>Names are full normalized references: tags {@code docker.io/library/busybox:latest} and digests
 * {@code docker.io/library/busybox@sha256:...}. A name points at exactly one image; putting an image under a name
 * another image holds moves the name (as {@code docker tag} and containerd do), and an image left with no name at all
 * is deleted in the same transaction, since nothing could address it any more except its id.
 *
 * <p>Every method is one SQLite transaction; the store is thread-safe (operations are serialized on one connection,
 * which is what SQLite's single writer does anyway). Errors are {@link io.berth.core.BerthException}s: ALREADY_EXISTS
 * for a sandbox or container name held by another id, RESOURCE_EXHAUSTED for a full disk, FAILED_PRECONDITION for a
 * database written by a newer Berth, INTERNAL otherwise.
 */
public interface MetadataStore extends AutoCloseable {

  /**
   * Opens (creating if needed) the database at {@code dbFile}: its directory is created mode 0700 and the file (and
   * SQLite's WAL and shared-memory files, which inherit it) mode 0600; migrations up to the current schema are applied.
   */
  static MetadataStore open(Path dbFile) {
    return SqliteMetadataStore.open(dbFile);
  }

  /** The schema version this code writes. */
  int schemaVersion();

  // ---- images

  /**
   * Inserts or updates an image (its row and layers) and points every name in {@code image.names()} at it; names
   * the image already had are kept. Returns the ids of other images that lost their last name here and were deleted.
   */
  List<Digest> putImage(ImageRecord image);

  Optional<ImageRecord> image(Digest id);

  /** All images, ordered by id. */
  List<ImageRecord> images();

  /** The image a full name points at. */
  Optional<Digest> imageIdByName(String name);

  /** Ids of images whose hex starts with {@code hexPrefix} (lowercase hex). */
  List<Digest> imageIdsByPrefix(String hexPrefix);

  /** Deletes an image with its names and layers; false if it was not there. */
  boolean deleteImage(Digest id);

  /**
   * Removes one name; returns the image it pointed at. Unlike a tag move, this leaves an image with no names in place
   * (the caller decides).
   */
  Optional<Digest> removeName(String name);

  /** Sets the pinned flag (pinned images are never pruned); false if the image is not there. */
  boolean setPinned(Digest id, boolean pinned);

  /** Every blob some image needs: configs, target and platform manifests, layer blobs. */
  Set<Digest> referencedBlobs();

  /** Every layer chain ID some image needs. */
  Set<Digest> referencedChainIds();

  // ---- key/value

  Optional<String> value(String key);

  void putValue(String key, String value);

  void deleteValue(String key);

  // ---- runtime records for recovery

  /** Inserts or replaces a sandbox by id; ALREADY_EXISTS if another sandbox has its name. */
  void putSandbox(SandboxRecord sandbox);

  Optional<SandboxRecord> sandbox(String id);

  List<SandboxRecord> sandboxes();

  /** False if it was not there. */
  boolean deleteSandbox(String id);

  /** Inserts or replaces a container by id; ALREADY_EXISTS if another container has its name. */
  void putContainer(ContainerRecord container);

  Optional<ContainerRecord> container(String id);

  List<ContainerRecord> containers();

  List<ContainerRecord> containersOf(String sandboxId);

  /** False if it was not there. */
  boolean deleteContainer(String id);

  /** Closes the connection; idempotent. */
  @Override
  void close();
}
