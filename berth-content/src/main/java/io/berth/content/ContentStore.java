package io.berth.content;

import io.berth.core.Digest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;

/**
 * A content-addressed store of blobs (layers, configs, manifests), in the manner of containerd's content store and
 * Jib's cache.
 *
 * <p>Layout under the root (every directory mode 0700, CVE-2024-25621):
 * <ul>
 *   <li>{@code blobs/<algorithm>/<hex>}: committed blobs. A file here always has the size and digest its name says,
 *       because it only ever arrives by an atomic rename after both were checked.</li>
 *   <li>{@code ingest/}: blobs being written ({@link Ingest}). A crash leaves files only here; they are deleted when
 *       the store is opened again.</li>
 * </ul>
 *
 * <p>Thread-safe. {@link #ensure} serializes per digest, so concurrent pulls of one blob download it once; different
 * digests proceed in parallel. Errors are {@link io.berth.core.BerthException}s: NOT_FOUND for an absent blob,
 * INVALID_ARGUMENT for content that does not match its digest or size, RESOURCE_EXHAUSTED for a full disk or a blob
 * over a caller's bound, INTERNAL for other I/O failures.
 */
public interface ContentStore {

  /**
   * Opens (creating if needed) a store at {@code root}, and deletes whatever a previous process left in
   * {@code ingest/} (crash recovery). Only one process may use a root at a time.
   */
  static ContentStore open(Path root) {
    return FileContentStore.open(root);
  }

  boolean contains(Digest digest);

  /** The path of a committed blob; NOT_FOUND if absent. Callers must not write to it. */
  Path blobPath(Digest digest);

  /** The size of a committed blob; NOT_FOUND if absent. */
  long size(Digest digest);

  /** Opens a committed blob for reading; NOT_FOUND if absent. */
  InputStream open(Digest digest);

  /**
   * Reads a whole blob, refusing (RESOURCE_EXHAUSTED) one larger than {@code maxBytes} before reading anything, so a
   * hostile manifest cannot make the caller allocate without bound.
   */
  byte[] readAll(Digest digest, long maxBytes);

  /** Stores a small blob (manifest, config) under its sha256; idempotent. */
  Digest put(byte[] data);

  /** Stores a small blob under {@code expected}; INVALID_ARGUMENT (nothing stored) if the data does not match. */
  void put(Digest expected, byte[] data);

  /**
   * Starts writing a blob: a fresh temp file in {@code ingest/}. {@code expectedSize} may be -1 when unknown; if
   * given, writing past it fails at once (INVALID_ARGUMENT) and {@link Ingest#commit()} checks it.
   */
  Ingest ingest(Digest expected, long expectedSize);

  /**
   * Makes the blob present exactly once across concurrent callers: under a per-digest lock, returns at once if the
   * blob is present, otherwise runs {@code fetcher} into a fresh {@link Ingest} and commits it. If the fetcher or the
   * commit fails, nothing is left behind and the error propagates (an {@link IOException} as INTERNAL, a
   * BerthException with its kind); a later call tries again. Returns the committed blob's path.
   */
  Path ensure(Digest digest, long expectedSize, Fetcher fetcher);

  /** Writes a blob's bytes into an ingest; called by {@link #ensure} with the per-digest lock held. */
  @FunctionalInterface
  interface Fetcher {
    void fetch(Ingest ingest) throws IOException;
  }

  /** Deletes a committed blob; idempotent. */
  void delete(Digest digest);

  /** Digests of all committed blobs, sorted. */
  List<Digest> list();

  /** Bytes the store really occupies on disk (allocated blocks, blobs and ingests), not the sum of claimed sizes. */
  long usageBytes();

  /** The store's root directory. */
  Path root();
}
