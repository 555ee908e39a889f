package io.berth.image;

import java.nio.file.Path;

/**
 * What images really occupy on disk (allocated blocks, hard links once), for CRI {@code ImageFsInfo}: blobs in the
 * content store plus unpacked layers. {@code mountpoint} is the directory holding the layers, {@code inodesUsed} the
 * number of files and directories in both.
 */
public record FsUsage(Path mountpoint, long usedBytes, long inodesUsed, long contentBytes, long snapshotBytes) {}
