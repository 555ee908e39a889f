package io.berth.cri;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.berth.cri.api.ext.ContainerRecord;
import io.berth.cri.api.ext.SandboxRecord;
import io.berth.metadata.MetadataStore;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sandbox and container records in the SQLite metadata store, as protobuf JSON. A record that no longer parses is
 * reported and set aside (left out), never a reason for berthd to refuse to start.
 */
final class MetadataRecords implements Records {
  private static final Logger log = LoggerFactory.getLogger(MetadataRecords.class);
  private static final JsonFormat.Parser PARSER = JsonFormat.parser().ignoringUnknownFields();

  private final MetadataStore store;

  MetadataRecords(MetadataStore store) {
    this.store = store;
  }

  @Override
  public void put(SandboxRecord s) {
    store.putSandbox(new io.berth.metadata.SandboxRecord(s.getId(), storedName(s), RuntimeState.toJson(s)));
  }

  /** The name the store keeps unique: the pod's, unless the record gave it up (a start lost in a crash). */
  static String storedName(SandboxRecord s) {
    String name = Sandbox.reservationName(s.getConfig().getMetadata());
    return s.getStartLost() ? name + "/lost/" + s.getId() : name;
  }

  @Override
  public void deleteSandbox(String id) {
    store.deleteSandbox(id);
  }

  @Override
  public List<SandboxRecord> sandboxes() {
    List<SandboxRecord> out = new ArrayList<>();
    for (var r : store.sandboxes()) {
      try {
        SandboxRecord.Builder b = SandboxRecord.newBuilder();
        PARSER.merge(r.json(), b);
        out.add(b.build());
      } catch (InvalidProtocolBufferException | RuntimeException e) {
        log.error("sandbox record {} cannot be read and is set aside: {}", r.id(), e.getMessage());
      }
    }
    return out;
  }

  @Override
  public Set<String> storedIds() {
    Set<String> ids = new HashSet<>();
    store.sandboxes().forEach(r -> ids.add(r.id()));
    store.containers().forEach(r -> ids.add(r.id()));
    return ids;
  }

  @Override
  public void put(ContainerRecord c) {
    store.putContainer(new io.berth.metadata.ContainerRecord(c.getId(), c.getSandboxId(),
        c.getSandboxId() + "/" + c.getConfig().getMetadata().getName() + "_" + c.getConfig().getMetadata().getAttempt(),
        RuntimeState.toJson(c)));
  }

  @Override
  public void deleteContainer(String id) {
    store.deleteContainer(id);
  }

  @Override
  public List<ContainerRecord> containers() {
    List<ContainerRecord> out = new ArrayList<>();
    for (var r : store.containers()) {
      try {
        ContainerRecord.Builder b = ContainerRecord.newBuilder();
        PARSER.merge(r.json(), b);
        out.add(b.build());
      } catch (InvalidProtocolBufferException | RuntimeException e) {
        log.error("container record {} cannot be read and is set aside: {}", r.id(), e.getMessage());
      }
    }
    return out;
  }
}
