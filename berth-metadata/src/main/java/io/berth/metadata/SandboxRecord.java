package io.berth.metadata;

import java.util.Objects;

/** A pod sandbox as the runtime side persists it for recovery; {@code json} is opaque to this module. */
public record SandboxRecord(String id, String name, String json) {
  public SandboxRecord {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(json, "json");
  }
}
