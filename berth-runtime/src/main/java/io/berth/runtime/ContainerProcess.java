package io.berth.runtime;

/** A created container: its init pid and its conmon's pid on the host. */
public record ContainerProcess(String id, int pid, int conmonPid) {}
