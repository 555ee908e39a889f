package io.berth.cri;

import io.berth.cri.api.ext.ContainerRecord;
import io.berth.cri.api.ext.SandboxRecord;
import java.util.List;

/** Durable storage of sandbox and container records, so berthd can recover them after a restart. */
interface Records {
  void put(SandboxRecord sandbox);

  void deleteSandbox(String id);

  List<SandboxRecord> sandboxes();

  void put(ContainerRecord container);

  void deleteContainer(String id);

  List<ContainerRecord> containers();
}
