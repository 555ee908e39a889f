package io.berth.image;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.core.BerthException;
import io.berth.core.Descriptor;
import io.berth.core.Digest;
import io.berth.core.MediaTypes;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The OCI/Docker manifest, index and image config documents, parsed into what Berth uses. */
final class Manifests {
  private Manifests() {}

  /** An index entry: a manifest descriptor with its platform, if given. */
  record IndexEntry(Descriptor descriptor, Optional<Platform> platform) {}

  /** An image manifest: config and layers, bottom-most first. */
  record Manifest(String mediaType, Descriptor config, List<Descriptor> layers) {}

  /** The parts of an image config Berth uses. */
  record Config(
      List<Digest> diffIds,
      Optional<String> user,
      List<String> env,
      List<String> entrypoint,
      List<String> cmd,
      Optional<String> workingDir,
      List<String> volumes,
      Optional<String> stopSignal,
      Map<String, String> labels,
      List<String> exposedPorts,
      String os,
      String architecture,
      Optional<Instant> created) {}

  /**
   * The media type of a manifest or index document: its {@code mediaType} field, else the one the registry sent,
   * else inferred from its shape ({@code manifests} makes an index), as containerd does for schema-less documents.
   */
  static String mediaType(byte[] doc, String declared, String what) {
    JsonNode n = Json.parse(doc, what);
    String own = n.path("mediaType").asText("");
    if (!own.isEmpty()) {
      if (!declared.isEmpty() && !declared.equals(own) && (MediaTypes.isIndex(own) != MediaTypes.isIndex(declared))) {
        throw BerthException.invalidArgument("%s: served as %s but says it is %s", what, declared, own);
      }
      return own;
    }
    if (!declared.isEmpty()) {
      return declared;
    }
    return n.has("manifests") ? MediaTypes.OCI_INDEX : MediaTypes.OCI_MANIFEST;
  }

  static List<IndexEntry> parseIndex(byte[] doc, String what) {
    JsonNode n = Json.parse(doc, what);
    JsonNode ms = n.get("manifests");
    if (ms == null || !ms.isArray()) {
      throw BerthException.invalidArgument("%s: index has no manifests array", what);
    }
    List<IndexEntry> out = new ArrayList<>();
    for (JsonNode m : ms) {
      Descriptor d = Json.descriptor(m, what + " manifests[" + out.size() + "]");
      JsonNode p = m.get("platform");
      Optional<Platform> platform = Optional.empty();
      if (p != null && p.isObject() && p.hasNonNull("os") && p.hasNonNull("architecture")) {
        platform = Optional.of(new Platform(p.get("os").asText(), p.get("architecture").asText(),
            p.path("variant").asText("")));
      }
      out.add(new IndexEntry(d, platform));
    }
    return out;
  }

  static Manifest parseManifest(byte[] doc, String mediaType, String what) {
    JsonNode n = Json.parse(doc, what);
    Descriptor config = Json.descriptor(n.get("config"), what + " config");
    JsonNode ls = n.get("layers");
    if (ls == null || !ls.isArray()) {
      throw BerthException.invalidArgument("%s: manifest has no layers array", what);
    }
    List<Descriptor> layers = new ArrayList<>();
    for (JsonNode l : ls) {
      Descriptor d = Json.descriptor(l, what + " layers[" + layers.size() + "]");
      MediaTypes.layerCompression(d.mediaType()); // INVALID_ARGUMENT for a type we cannot unpack
      layers.add(d);
    }
    return new Manifest(mediaType, config, layers);
  }

  static Config parseConfig(byte[] doc, String what) {
    JsonNode n = Json.parse(doc, what);
    JsonNode rootfs = n.path("rootfs");
    JsonNode ids = rootfs.get("diff_ids");
    if (ids == null || !ids.isArray()) {
      throw BerthException.invalidArgument("%s: config has no rootfs.diff_ids", what);
    }
    List<Digest> diffIds = new ArrayList<>();
    for (JsonNode id : ids) {
      try {
        diffIds.add(Digest.parse(id.asText()));
      } catch (BerthException e) {
        throw BerthException.invalidArgument("%s: bad diff id: %s", what, e.getMessage());
      }
    }
    JsonNode c = n.path("config");
    Map<String, String> labels = new LinkedHashMap<>();
    c.path("Labels").properties().forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
    List<String> volumes = new ArrayList<>();
    c.path("Volumes").properties().forEach(e -> volumes.add(e.getKey()));
    List<String> ports = new ArrayList<>();
    c.path("ExposedPorts").properties().forEach(e -> ports.add(e.getKey()));
    Optional<Instant> created = Json.text(n, "created").flatMap(s -> {
      try {
        return Optional.of(Instant.parse(s));
      } catch (DateTimeParseException e) {
        return Optional.empty();
      }
    });
    return new Config(List.copyOf(diffIds), Json.text(c, "User"), Json.strings(c.get("Env")),
        Json.strings(c.get("Entrypoint")), Json.strings(c.get("Cmd")), Json.text(c, "WorkingDir"), volumes,
        Json.text(c, "StopSignal"), labels, ports, n.path("os").asText(""), n.path("architecture").asText(""), created);
  }
}
