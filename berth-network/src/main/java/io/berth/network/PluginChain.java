package io.berth.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.core.BerthException;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the plugins of one network configuration list for ADD, DEL and CHECK, building each plugin's stdin as
 * SPEC.md "Section 4: Plugin Delegation" and the conventions for {@code runtimeConfig} describe. Thread-safe.
 */
final class PluginChain {
  private static final Logger log = LoggerFactory.getLogger(PluginChain.class);

  private final PluginInvoker invoker;

  PluginChain(PluginInvoker invoker) {
    this.invoker = invoker;
  }

  /** The raw result of a successful ADD and its parsed form. */
  record Added(String raw, CniResult result) {}

  /**
   * The config a plugin receives on stdin: its own object from the list, plus the list's {@code name} and {@code
   * cniVersion}, the previous result for chained calls, and the {@code runtimeConfig} entries for exactly the
   * capabilities it declares ({@code "capabilities": {"portMappings": true}}).
   */
  static ObjectNode pluginConfig(ConfList list, ObjectNode plugin, Optional<JsonNode> prevResult,
      ObjectNode capabilityArgs) {
    ObjectNode conf = plugin.deepCopy();
    conf.put("name", list.name());
    conf.put("cniVersion", list.cniVersion());
    conf.remove("prevResult");
    conf.remove("runtimeConfig");
    prevResult.ifPresent(r -> conf.set("prevResult", r.deepCopy()));
    JsonNode caps = plugin.get("capabilities");
    ObjectNode runtimeConfig = CniSpec.JSON.createObjectNode();
    if (caps != null) {
      for (Iterator<Map.Entry<String, JsonNode>> it = caps.properties().iterator(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> cap = it.next();
        if (cap.getValue().asBoolean(false) && capabilityArgs.has(cap.getKey())) {
          runtimeConfig.set(cap.getKey(), capabilityArgs.get(cap.getKey()).deepCopy());
        }
      }
    }
    if (!runtimeConfig.isEmpty()) {
      conf.set("runtimeConfig", runtimeConfig);
    }
    return conf;
  }

  /**
   * ADD through every plugin, each getting the previous one's result. If one fails, DEL runs for it and every
   * plugin before it, in reverse, and the failure is rethrown; when one of those DELs failed too, the thrown
   * exception carries an {@link IncompleteRollback} (see {@link #rollbackIncomplete}).
   */
  Added add(ConfList list, PluginInvoker.Call call, ObjectNode capabilityArgs) {
    Optional<JsonNode> prev = Optional.empty();
    String raw = null;
    CniResult parsed = null;
    List<ObjectNode> plugins = list.plugins();
    for (int i = 0; i < plugins.size(); i++) {
      ObjectNode plugin = plugins.get(i);
      String type = plugin.get("type").asText();
      try {
        raw = invoker.invoke(type, call, pluginConfig(list, plugin, prev, capabilityArgs));
        prev = Optional.of(parseJson(type, raw));
        if (i == plugins.size() - 1) {
          parsed = CniResult.parse(raw);
        }
      } catch (RuntimeException e) {
        boolean complete = rollback(list, i, call, capabilityArgs, prev);
        BerthException thrown = BerthException.wrap(e, "network %s (%s)", list.name(), list.source());
        if (!complete) {
          thrown.addSuppressed(new IncompleteRollback(list.name()));
        }
        throw thrown;
      }
    }
    if (parsed == null) {
      throw BerthException.internal("network %s has no plugins", list.name());
    }
    return new Added(raw, parsed);
  }

  /** Marks an ADD failure whose DEL rollback failed too: the attachment may hold something until DEL succeeds. */
  static final class IncompleteRollback extends RuntimeException {
    IncompleteRollback(String network) {
      super("rollback of network " + network + " did not complete", null, false, false);
    }
  }

  /** Whether {@code e} (or what it wraps) is an ADD failure whose rollback did not complete. */
  static boolean rollbackIncomplete(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      for (Throwable s : t.getSuppressed()) {
        if (s instanceof IncompleteRollback) {
          return true;
        }
      }
    }
    return false;
  }

  /** DEL for the failed plugin and each before it; false when one of them failed. */
  private boolean rollback(ConfList list, int failed, PluginInvoker.Call call, ObjectNode capabilityArgs,
      Optional<JsonNode> prev) {
    boolean complete = true;
    PluginInvoker.Call del = new PluginInvoker.Call(CniSpec.DEL, call.containerId(), call.netns(), call.ifName(),
        call.cniArgs());
    for (int i = failed; i >= 0; i--) {
      ObjectNode plugin = list.plugins().get(i);
      String type = plugin.get("type").asText();
      try {
        invoker.invoke(type, del, pluginConfig(list, plugin, prev, capabilityArgs));
      } catch (RuntimeException e) {
        complete = false;
        log.warn("rollback: CNI DEL of plugin {} for {} failed: {}", type, call.containerId(), e.getMessage());
      }
    }
    return complete;
  }

  /**
   * DEL through every plugin in reverse order, each getting {@code prevResult} (the cached ADD result) when known.
   * Every plugin is tried; the first failure is thrown after all ran.
   */
  void del(ConfList list, PluginInvoker.Call call, ObjectNode capabilityArgs, Optional<JsonNode> prevResult) {
    RuntimeException first = null;
    List<ObjectNode> plugins = list.plugins();
    for (int i = plugins.size() - 1; i >= 0; i--) {
      ObjectNode plugin = plugins.get(i);
      String type = plugin.get("type").asText();
      try {
        invoker.invoke(type, call, pluginConfig(list, plugin, prevResult, capabilityArgs));
      } catch (RuntimeException e) {
        first = first == null ? e : first;
        if (first != e) {
          first.addSuppressed(e);
        }
      }
    }
    if (first != null) {
      throw BerthException.wrap(first, "network %s", list.name());
    }
  }

  /** CHECK through every plugin in order, each getting the cached ADD result; no-op before CNI 0.4.0. */
  void check(ConfList list, PluginInvoker.Call call, ObjectNode capabilityArgs, JsonNode prevResult) {
    if (!CniSpec.supportsCheck(list.cniVersion()) || list.disableCheck()) {
      return;
    }
    for (ObjectNode plugin : list.plugins()) {
      String type = plugin.get("type").asText();
      try {
        invoker.invoke(type, call, pluginConfig(list, plugin, Optional.of(prevResult), capabilityArgs));
      } catch (RuntimeException e) {
        throw BerthException.wrap(e, "network %s", list.name());
      }
    }
  }

  private static JsonNode parseJson(String type, String raw) {
    try {
      JsonNode n = CniSpec.JSON.readTree(raw);
      if (n == null || !n.isObject()) {
        throw BerthException.unavailable("CNI plugin %s returned no result object", type);
      }
      return n;
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw BerthException.unavailable("CNI plugin %s returned invalid JSON: %s", type, e.getOriginalMessage());
    }
  }
}
