package io.berth.oci;

import io.berth.cri.api.LinuxContainerResources;
import java.util.List;

/** The resources of CRI UpdateContainerResources, mapped exactly as at creation (for {@code runc update}). */
public final class ResourceUpdates {
  private ResourceUpdates() {}

  public static RuntimeSpec.Resources of(LinuxContainerResources resources, RuntimeOptions options) {
    return SpecGenerator.resources(resources, options, List.of());
  }
}
