package io.berth.cri;

import io.berth.cri.api.PodSandboxMetadata;
import io.berth.cri.api.PodSandboxState;
import io.berth.cri.api.ext.SandboxRecord;

/**
 * A pod sandbox as berthd tracks it: its durable record, replaced as a whole on every change (records are immutable
 * protobuf messages), and persisted by {@link RuntimeState#save(Sandbox, SandboxRecord)}.
 */
final class Sandbox {
  private volatile SandboxRecord record;

  Sandbox(SandboxRecord record) {
    this.record = record;
  }

  String id() {
    return record.getId();
  }

  SandboxRecord record() {
    return record;
  }

  void set(SandboxRecord r) {
    record = r;
  }

  boolean ready() {
    return record.getState() == PodSandboxState.SANDBOX_READY_VALUE;
  }

  boolean hostNetwork() {
    return record.getNetnsPath().isEmpty();
  }

  /** The name the CRI requires to be unique: name, namespace, uid and attempt, as containerd builds it. */
  static String reservationName(PodSandboxMetadata m) {
    return String.join("_", m.getName(), m.getNamespace(), m.getUid(), Integer.toString(m.getAttempt()));
  }
}
