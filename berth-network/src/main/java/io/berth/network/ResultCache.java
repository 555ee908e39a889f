package io.berth.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.core.BerthException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * What each ADD used and returned, kept on disk so DEL and CHECK can pass the same config, arguments and {@code
 * prevResult} after a config change or a daemon restart (libcni keeps the same under {@code /var/lib/cni/results}).
 * Layout: {@code <dir>/<containerId>/<ifName>.json}. Thread-safe for different containers.
 */
final class ResultCache {
  static final String KIND = "berthCniCacheV1";

  /** One cached attachment; {@code result} is empty while the ADD runs (or when it never finished). */
  record Entry(String containerId, String ifName, String netns, String cniArgs, ObjectNode capabilityArgs,
      ConfList list, Optional<JsonNode> result) {}

  private static final FileAttribute<?> PRIVATE_DIR =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));

  private static final FileAttribute<?> PRIVATE_FILE =
      PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

  private final Path dir;

  ResultCache(Path dir) {
    this.dir = dir;
  }

  void put(Entry e) {
    ObjectNode o = CniSpec.JSON.createObjectNode();
    o.put("kind", KIND);
    o.put("containerId", e.containerId());
    o.put("ifName", e.ifName());
    o.put("networkName", e.list().name());
    o.put("netns", e.netns());
    o.put("cniArgs", e.cniArgs());
    o.set("capabilityArgs", e.capabilityArgs());
    o.put("source", e.list().source());
    o.set("config", e.list().json());
    e.result().ifPresent(r -> o.set("result", r));
    Path target = file(e.containerId(), e.ifName());
    try {
      if (!Files.isDirectory(target.getParent())) {
        Files.createDirectories(target.getParent(), PRIVATE_DIR);
      }
      // One writer per container and interface: a fixed temporary name (left out by all()) needs no random one.
      Path tmp = target.resolveSibling(".tmp-" + target.getFileName());
      try (var ch = Files.newByteChannel(tmp, EnumSet.of(StandardOpenOption.CREATE,
          StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE), PRIVATE_FILE)) {
        ByteBuffer b = ByteBuffer.wrap(CniSpec.JSON.writeValueAsBytes(o));
        while (b.hasRemaining()) {
          ch.write(b);
        }
      }
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException ex) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException ex) {
      throw BerthException.internal(ex, "write CNI cache %s", target);
    }
  }

  Optional<Entry> get(String containerId, String ifName) {
    Path f = file(containerId, ifName);
    if (!Files.isRegularFile(f)) {
      return Optional.empty();
    }
    return Optional.of(read(f));
  }

  /** Every cached attachment of a container, {@code eth0}-like interfaces before {@code lo}. */
  List<Entry> all(String containerId) {
    Path d = dir.resolve(containerId);
    if (!Files.isDirectory(d)) {
      return List.of();
    }
    List<Entry> out = new ArrayList<>();
    try (Stream<Path> s = Files.list(d)) {
      for (Path f : s.filter(p -> p.getFileName().toString().endsWith(".json"))
          .filter(p -> !p.getFileName().toString().startsWith("."))
          .sorted(Comparator.comparing((Path p) -> p.getFileName().toString().equals("lo.json"))
              .thenComparing(p -> p.getFileName().toString()))
          .toList()) {
        out.add(read(f));
      }
    } catch (IOException ex) {
      throw BerthException.internal(ex, "list CNI cache %s", d);
    }
    return out;
  }

  void remove(String containerId, String ifName) {
    try {
      Files.deleteIfExists(file(containerId, ifName));
    } catch (IOException ex) {
      throw BerthException.internal(ex, "delete CNI cache of %s/%s", containerId, ifName);
    }
  }

  /** Ids of the containers that have a cache dir (complete, half-written or empty). */
  List<String> containerIds() {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
    } catch (IOException ex) {
      throw BerthException.internal(ex, "list CNI cache %s", dir);
    }
  }

  /** Removes the container's cache dir, with any leftover temp files; fine if absent. */
  void removeAll(String containerId) {
    Path d = dir.resolve(containerId);
    if (!Files.isDirectory(d)) {
      return;
    }
    try (Stream<Path> s = Files.list(d)) {
      for (Path f : s.toList()) {
        Files.deleteIfExists(f);
      }
      Files.deleteIfExists(d);
    } catch (IOException ex) {
      throw BerthException.internal(ex, "delete CNI cache %s", d);
    }
  }

  private Path file(String containerId, String ifName) {
    return dir.resolve(containerId).resolve(ifName + ".json");
  }

  private static Entry read(Path f) {
    try {
      JsonNode o = CniSpec.JSON.readTree(f.toFile());
      if (!KIND.equals(o.path("kind").asText())) {
        throw BerthException.internal("CNI cache %s: unknown kind %s", f, o.path("kind").asText());
      }
      ConfList list = ConfList.parse(o.path("source").asText(f.toString()), o.path("config").toString(), true);
      JsonNode caps = o.get("capabilityArgs");
      JsonNode result = o.get("result");
      return new Entry(o.path("containerId").asText(), o.path("ifName").asText(), o.path("netns").asText(""),
          o.path("cniArgs").asText(""),
          caps instanceof ObjectNode on ? on : CniSpec.JSON.createObjectNode(), list,
          result == null || result.isNull() ? Optional.empty() : Optional.of(result));
    } catch (IOException ex) {
      throw BerthException.internal(ex, "read CNI cache %s", f);
    } catch (BerthException ex) {
      throw BerthException.internal(ex, "read CNI cache %s", f);
    }
  }
}
