/**
 * Layer snapshots: unpacks image layers safely into per-layer directories and stacks them with overlayfs as container
 * root file systems. Depends on berth-core and berth-linux only; knows nothing of registries, images or metadata.
 * Entry point: {@link io.berth.snapshot.Snapshotter}.
 */
package io.berth.snapshot;
