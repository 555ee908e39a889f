/**
 * Berth's embedded metadata database: one SQLite file (WAL, foreign keys on, mode 0600 in a 0700 directory) holding
 * images with their names and layers, and opaque sandbox and container records for recovery. Every public operation
 * is one transaction. Depends on berth-core only; it stores facts and knows nothing of registries or snapshots.
 */
package io.berth.metadata;
