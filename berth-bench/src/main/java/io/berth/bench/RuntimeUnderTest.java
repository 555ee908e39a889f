package io.berth.bench;

import java.nio.file.Path;

/**
 * A CRI runtime the harness starts, measures through {@link CriClient} and tears down. Every benchmark is written
 * against this interface only, so containerd and berthd run exactly the same client code.
 *
 * <p>Lifecycle: {@link #start} once (own root, state and socket under {@link #privateDir}); then any benchmarks;
 * then {@link #close}, which removes every pod it still has, stops the daemon, kills helpers left behind, unmounts
 * everything under its private dir and deletes it.
 */
interface RuntimeUnderTest extends AutoCloseable {

    /** "containerd" or "berth": the label in tables and JSON. */
    String name();

    void start(BenchEnvironment env);

    CriClient cri();

    /** The daemon process itself (containerd, or berthd's JVM). */
    long daemonPid();

    /**
     * The directory holding all the runtime's files. Per-pod helpers (shims, conmon) carry a path inside it on
     * their command line, which is how the memory benchmark finds them.
     */
    Path privateDir();

    /** Where the runtime keeps images and content: scanned to check that a removed image is really gone. */
    Path contentDir();

    /** One line for the report: binary and version. */
    String describe();

    @Override
    void close();
}
