package io.berth.runtime;

import java.nio.file.Path;
import java.util.List;

class RuncRuntimeIT extends AbstractOciRuntimeContractTest {
  @Override
  RuntimeHandler handler(Path root) {
    return new RuntimeHandler("runc", Path.of("/usr/bin/runc"), root.resolve("runc-root"), List.of());
  }
}
