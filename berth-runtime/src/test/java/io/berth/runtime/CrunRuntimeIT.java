package io.berth.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

class CrunRuntimeIT extends AbstractOciRuntimeContractTest {
  @Override
  RuntimeHandler handler(Path root) {
    return new RuntimeHandler("crun", Path.of("/usr/bin/crun"), root.resolve("crun-root"), List.of());
  }

  /**
   * crun 1.8.1 refuses hybrid cgroups while cgroup2 lists a controller (hugetlb here). As the critest kit's README
   * describes, the test machine gets a v1 hugetlb hierarchy once; the product only reports the condition.
   */
  @Override
  void prepareHost() throws IOException, InterruptedException {
    Path cg = Path.of("/sys/fs/cgroup");
    if (HandlerProbe.crunHybridProblem(cg) == null) {
      return;
    }
    Path hugetlb = cg.resolve("hugetlb");
    Files.createDirectories(hugetlb);
    Process p = new ProcessBuilder("mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", hugetlb.toString())
        .inheritIO().start();
    if (p.waitFor() != 0 || HandlerProbe.crunHybridProblem(cg) != null) {
      throw new IllegalStateException("cannot move hugetlb to a v1 hierarchy: " + HandlerProbe.crunHybridProblem(cg));
    }
  }
}
