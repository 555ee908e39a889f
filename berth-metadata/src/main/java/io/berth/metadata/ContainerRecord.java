package io.berth.metadata;

import java.util.Arrays;
import java.util.Objects;

/** A container as the runtime side persists it for recovery; {@code data} is opaque to this module. */
public record ContainerRecord(String id, String sandboxId, String name, byte[] data) {
  public ContainerRecord {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(sandboxId, "sandboxId");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(data, "data");
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ContainerRecord r && id.equals(r.id) && sandboxId.equals(r.sandboxId) && name.equals(r.name)
        && Arrays.equals(data, r.data);
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, sandboxId, name, Arrays.hashCode(data));
  }

  @Override
  public String toString() {
    return "ContainerRecord[id=" + id + ", sandboxId=" + sandboxId + ", name=" + name + ", " + data.length + " bytes]";
  }
}
