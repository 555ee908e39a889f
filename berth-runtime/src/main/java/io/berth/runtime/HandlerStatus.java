package io.berth.runtime;

/**
 * What start-up found out about a runtime handler.
 *
 * @param usable the handler can run containers; otherwise {@code reason} says why not
 * @param version first line of {@code <binary> --version}
 * @param recursiveReadOnlyMounts the runtime lists {@code rro} among its mount options ({@code features})
 * @param gvisor the runtime is gVisor's runsc ({@code --version} says so): a pod's containers share one sandbox,
 *     which its infra container starts
 */
public record HandlerStatus(String name, boolean usable, String reason, String version,
    boolean recursiveReadOnlyMounts, boolean gvisor) {}
