package io.berth.cri;

import io.berth.cri.api.ext.ContainerRecord;
import io.berth.cri.api.ext.SandboxRecord;
import java.util.List;
import java.util.Set;

/** Durable storage of sandbox and container records, so berthd can recover them after a restart. */
interface Records {
  void put(SandboxRecord sandbox);

  void deleteSandbox(String id);

  List<SandboxRecord> sandboxes();

  void put(ContainerRecord container);

  void deleteContainer(String id);

  List<ContainerRecord> containers();

  /**
   * Ids of every stored sandbox and container record, readable or not: a record set aside because it no longer
   * parses still owns what is named after its id.
   */
  Set<String> storedIds();
}
