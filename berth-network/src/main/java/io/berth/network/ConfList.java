package io.berth.network;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.core.BerthException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A validated CNI network configuration list: a {@code .conflist} file, or a single-plugin {@code .conf}/{@code
 * .json} file wrapped into a list as libcni does.
 *
 * @param source where it came from (a file path, or a description for built-in lists)
 * @param json the whole list, as it is stored in the result cache
 */
record ConfList(String source, String name, String cniVersion, boolean disableCheck, List<ObjectNode> plugins,
    ObjectNode json) {
  private static final Logger log = LoggerFactory.getLogger(ConfList.class);

  ConfList {
    plugins = List.copyOf(plugins);
  }

  List<String> pluginTypes() {
    return plugins.stream().map(p -> p.get("type").asText()).toList();
  }

  /**
   * The list to use: the first file in {@code dirs} (dir order, then lexical file-name order) or, when {@code
   * networkName} is not empty, the first whose network has that name. Empty when there is none.
   *
   * @throws BerthException INVALID_ARGUMENT naming the file when a file that would be chosen is broken
   */
  static Optional<ConfList> load(List<Path> dirs, String networkName) {
    BerthException firstBroken = null;
    for (Path file : files(dirs)) {
      ConfList list;
      try {
        list = parseFile(file);
      } catch (BerthException e) {
        if (networkName.isEmpty()) {
          throw e;
        }
        log.warn("skipping CNI config: {}", e.getMessage());
        firstBroken = firstBroken == null ? e : firstBroken;
        continue;
      }
      if (networkName.isEmpty() || networkName.equals(list.name())) {
        return Optional.of(list);
      }
    }
    if (firstBroken != null) {
      throw BerthException.wrap(firstBroken, "no CNI network named %s found", networkName);
    }
    return Optional.empty();
  }

  /** The candidate files: {@code .conflist}, {@code .conf}, {@code .json}, dirs in order, names sorted. */
  static List<Path> files(List<Path> dirs) {
    List<Path> out = new ArrayList<>();
    for (Path dir : dirs) {
      if (!Files.isDirectory(dir)) {
        continue;
      }
      try (Stream<Path> s = Files.list(dir)) {
        s.filter(p -> {
              String n = p.getFileName().toString();
              return n.endsWith(".conflist") || n.endsWith(".conf") || n.endsWith(".json");
            })
            .filter(Files::isRegularFile)
            .sorted(Comparator.comparing(p -> p.getFileName().toString()))
            .forEach(out::add);
      } catch (IOException e) {
        throw BerthException.unavailable("cannot list CNI config dir %s: %s", dir, e.getMessage());
      }
    }
    return out;
  }

  static ConfList parseFile(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw BerthException.invalidArgument("CNI config %s: cannot read: %s", file, e.getMessage());
    }
    return parse(file.toString(), text, file.getFileName().toString().endsWith(".conflist"));
  }

  /** Parses and validates; {@code isList} false means a single plugin config to be wrapped. */
  static ConfList parse(String source, String text, boolean isList) {
    JsonNode root;
    try {
      root = CniSpec.JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw bad(source, "invalid JSON: %s", e.getOriginalMessage());
    }
    if (root == null || !root.isObject()) {
      throw bad(source, "not a JSON object");
    }
    ObjectNode obj = (ObjectNode) root;
    if (!isList) {
      if (obj.has("plugins")) {
        throw bad(source, "has \"plugins\": a list must be in a .conflist file");
      }
      ObjectNode wrapped = CniSpec.JSON.createObjectNode();
      wrapped.set("cniVersion", obj.get("cniVersion"));
      wrapped.set("name", obj.get("name"));
      wrapped.putArray("plugins").add(obj.deepCopy());
      obj = wrapped;
    }
    String name = requiredString(source, obj, "name");
    if (!CniSpec.NETWORK_NAME.matcher(name).matches()) {
      throw bad(source, "invalid network name %s", name);
    }
    String version = requiredString(source, obj, "cniVersion");
    if (!CniSpec.SUPPORTED_VERSIONS.contains(version)) {
      throw bad(source, "unsupported cniVersion %s (supported: %s)", version, CniSpec.SUPPORTED_VERSIONS);
    }
    JsonNode disableCheck = obj.get("disableCheck");
    if (disableCheck != null && !disableCheck.isBoolean()) {
      throw bad(source, "\"disableCheck\" must be a boolean");
    }
    JsonNode pluginsNode = obj.get("plugins");
    if (!(pluginsNode instanceof ArrayNode array) || array.isEmpty()) {
      throw bad(source, "\"plugins\" must be a non-empty array");
    }
    List<ObjectNode> plugins = new ArrayList<>();
    for (int i = 0; i < array.size(); i++) {
      if (!(array.get(i) instanceof ObjectNode p)) {
        throw bad(source, "plugin %d is not an object", i);
      }
      JsonNode type = p.get("type");
      if (type == null || !type.isTextual() || type.asText().isEmpty()) {
        throw bad(source, "plugin %d has no \"type\"", i);
      }
      checkPluginType(source, type.asText());
      JsonNode caps = p.get("capabilities");
      if (caps != null && !caps.isObject()) {
        throw bad(source, "plugin %s: \"capabilities\" must be an object", type.asText());
      }
      plugins.add(p);
    }
    return new ConfList(source, name, version, disableCheck != null && disableCheck.asBoolean(), plugins, obj);
  }

  static void checkPluginType(String source, String type) {
    if (!CniSpec.PLUGIN_TYPE.matcher(type).matches() || type.contains("..")) {
      throw bad(source, "invalid plugin type %s", type);
    }
  }

  private static String requiredString(String source, ObjectNode obj, String field) {
    JsonNode n = obj.get(field);
    if (n == null || !n.isTextual() || n.asText().isEmpty()) {
      throw bad(source, "missing or non-string \"%s\"", field);
    }
    return n.asText();
  }

  private static BerthException bad(String source, String format, Object... args) {
    return BerthException.invalidArgument("CNI config %s: %s", source, String.format(format, args));
  }
}
