package io.berth.oci;

import io.berth.core.BerthException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A host with fixed facts: no files touched outside test temp dirs. */
final class FakeHost implements HostFacts {
  final Map<String, RuntimeSpec.Device> devices = new HashMap<>();
  final Map<String, String> files = new HashMap<>();
  List<String> caps = Capabilities.ALL_KNOWN.stream().filter(c -> !c.equals("CAP_SYS_RESOURCE")).toList();

  @Override
  public List<String> currentCapabilities() {
    return caps;
  }

  @Override
  public Optional<RuntimeSpec.Device> device(Path hostPath) {
    return Optional.ofNullable(devices.get(hostPath.toString()));
  }

  @Override
  public List<RuntimeSpec.Device> hostDevices() {
    return List.copyOf(devices.values());
  }

  @Override
  public Path prepareMountSource(Path hostPath) {
    return hostPath;
  }

  @Override
  public String readFile(Path path) {
    String s = files.get(path.toString());
    if (s == null) {
      throw BerthException.invalidArgument("cannot read %s", path);
    }
    return s;
  }

  final Map<String, List<String>> lockedFlags = new HashMap<>();

  @Override
  public List<String> lockedMountFlags(Path source) {
    return lockedFlags.getOrDefault(source.toString(), List.of());
  }

  @Override
  public String hostname() {
    return "node1";
  }

  @Override
  public String arch() {
    return "amd64";
  }
}
