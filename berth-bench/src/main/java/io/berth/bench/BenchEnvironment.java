package io.berth.bench;

import java.nio.file.Path;

/**
 * What every runtime under test shares: the run's temp dir, the local registry, the CNI conflist (same network for
 * both) and the pause image for runtimes that use one.
 */
record BenchEnvironment(Path baseDir, LocalRegistry registry, Path cniConfDir, Path cniBinDir, String pauseImage) {}
