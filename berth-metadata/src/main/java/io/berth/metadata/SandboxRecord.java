package io.berth.metadata;

import java.util.Arrays;
import java.util.Objects;

/** A pod sandbox as the runtime side persists it for recovery; {@code data} is opaque to this module. */
public record SandboxRecord(String id, String name, byte[] data) {
  public SandboxRecord {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(data, "data");
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SandboxRecord r && id.equals(r.id) && name.equals(r.name) && Arrays.equals(data, r.data);
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, name, Arrays.hashCode(data));
  }

  @Override
  public String toString() {
    return "SandboxRecord[id=" + id + ", name=" + name + ", " + data.length + " bytes]";
  }
}
