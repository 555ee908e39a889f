package io.berth.metadata;

import java.util.Objects;

/** A container as the runtime side persists it for recovery; {@code json} is opaque to this module. */
public record ContainerRecord(String id, String sandboxId, String name, String json) {
  public ContainerRecord {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(sandboxId, "sandboxId");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(json, "json");
  }
}
