package io.berth.content;

import java.io.OutputStream;
import java.nio.file.Path;

/**
 * One blob being written: a temp file in the store's {@code ingest/} directory whose digest is computed while the
 * bytes are written. {@link #commit()} moves it into place after checking size and digest; {@link #close()} without a
 * commit deletes it. Not thread-safe: one writer at a time.
 */
public interface Ingest extends AutoCloseable {

  /** The digest the content must have. */
  io.berth.core.Digest expected();

  /** Bytes written so far: where an HTTP {@code Range} request resumes. */
  long offset();

  /**
   * The append stream. Writing past the expected size throws INVALID_ARGUMENT (a {@link io.berth.core.BerthException},
   * unchecked) at once, so a blob larger than its descriptor says is never fully downloaded.
   */
  OutputStream stream();

  /** Truncates to zero and restarts the digest, for a server that ignored a {@code Range} request. */
  void reset();

  /**
   * Checks size and digest, fsyncs, and renames the file to {@code blobs/<alg>/<hex>} with ATOMIC_MOVE; an existing
   * target counts as success. On a mismatch deletes the temp file and throws INVALID_ARGUMENT naming the expected
   * and actual values. Returns the committed path.
   */
  Path commit();

  /** Deletes the temp file unless committed; idempotent. */
  @Override
  void close();
}
