package io.berth.runtime;

/**
 * The outcome of {@link OciRuntime#execSync}.
 *
 * @param exitCode the process's exit code (137 when killed at the timeout)
 * @param timedOut the timeout expired and the process was killed
 * @param truncated some output beyond the cap was discarded
 */
public record ExecResult(int exitCode, byte[] stdout, byte[] stderr, boolean timedOut, boolean truncated) {}
