package io.berth.cri;

import io.berth.cri.api.ContainerMetadata;
import io.berth.cri.api.ContainerState;
import io.berth.cri.api.PodSandboxMetadata;
import io.berth.cri.api.ext.ContainerRecord;

/** A container as berthd tracks it: its durable record, replaced as a whole on every change. */
final class Container {
  private volatile ContainerRecord record;
  /** The process identity from the bundle's config.json, read once (it never changes). */
  private volatile io.berth.cri.api.ContainerUser user;

  Container(ContainerRecord record) {
    this.record = record;
  }

  String id() {
    return record.getId();
  }

  String sandboxId() {
    return record.getSandboxId();
  }

  ContainerRecord record() {
    return record;
  }

  void set(ContainerRecord r) {
    record = r;
  }

  io.berth.cri.api.ContainerUser user() {
    return user;
  }

  void user(io.berth.cri.api.ContainerUser u) {
    user = u;
  }

  ContainerState state() {
    return ContainerState.forNumber(record.getState());
  }

  static String reservationName(ContainerMetadata c, PodSandboxMetadata p) {
    return String.join("_", c.getName(), p.getName(), p.getNamespace(), p.getUid(), Integer.toString(c.getAttempt()));
  }
}
