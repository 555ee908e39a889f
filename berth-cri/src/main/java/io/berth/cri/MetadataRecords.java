package io.berth.cri;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.berth.cri.api.ext.ContainerRecord;
import io.berth.cri.api.ext.SandboxRecord;
import io.berth.metadata.MetadataStore;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sandbox and container records in the SQLite metadata store, as binary protobuf (records written before schema 2 are
 * protobuf JSON and still read). A record that no longer parses is reported and set aside (left out), never a reason
 * for berthd to refuse to start.
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
    store.putSandbox(new io.berth.metadata.SandboxRecord(s.getId(), storedName(s), s.toByteArray()));
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
        out.add(decode(r.data(), SandboxRecord.newBuilder()).build());
      } catch (InvalidProtocolBufferException | RuntimeException e) {
        log.error("sandbox record {} cannot be read and is set aside: {}", r.id(), e.getMessage());
      }
    }
    return out;
  }

  /**
   * Reads a stored record into {@code b}. Binary protobuf never starts with '{' (it would be field 15 as a group, which
   * these messages do not have), so a record that does is the JSON of a Berth before schema 2.
   */
  static <B extends Message.Builder> B decode(byte[] data, B b) throws InvalidProtocolBufferException {
    if (data.length > 0 && data[0] == '{') {
      PARSER.merge(new String(data, StandardCharsets.UTF_8), b);
    } else {
      b.mergeFrom(data);
    }
    return b;
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
        c.toByteArray()));
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
        out.add(decode(r.data(), ContainerRecord.newBuilder()).build());
      } catch (InvalidProtocolBufferException | RuntimeException e) {
        log.error("container record {} cannot be read and is set aside: {}", r.id(), e.getMessage());
      }
    }
    return out;
  }
}
