package io.berth.bench;

import java.nio.file.Path;

/**
 * What every runtime under test shares: the run's temp dir, the local registry, the CNI conflist (same network for
 * both), the pause image for runtimes that use one, whether pods will run (then a runtime must report RuntimeReady
 * and NetworkReady before benchmarks start) and where daemon logs are kept after teardown.
 */
record BenchEnvironment(Path baseDir, LocalRegistry registry, Path cniConfDir, Path cniBinDir, String pauseImage,
                        boolean podsNeeded, Path logDir) {}
