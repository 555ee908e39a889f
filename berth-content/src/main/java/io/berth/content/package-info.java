/**
 * Content-addressed blob store: blobs by digest under {@code blobs/<alg>/<hex>}, written to {@code ingest/} while
 * their digest is computed and renamed into place only after size and digest match. Depends on berth-core only;
 * it knows nothing of registries, manifests or layers.
 */
package io.berth.content;
