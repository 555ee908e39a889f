package io.berth.oci;

import com.fasterxml.jackson.databind.JsonNode;
import io.berth.core.BerthException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/** Berth's default seccomp profile (data in {@code default-seccomp.json}) and localhost profiles. */
final class SeccompProfiles {
  private static final JsonNode DEFAULT = load();

  private SeccompProfiles() {}

  private static JsonNode load() {
    try (InputStream in = SeccompProfiles.class.getResourceAsStream("default-seccomp.json")) {
      if (in == null) {
        throw new IllegalStateException("default-seccomp.json missing from berth-oci");
      }
      return RuntimeSpec.JSON.readTree(in);
    } catch (IOException e) {
      throw new IllegalStateException("bad default-seccomp.json", e);
    }
  }

  /**
   * The default profile for a process with the given bounding capabilities on an architecture ({@code os.arch}).
   */
  static RuntimeSpec.Seccomp runtimeDefault(List<String> capabilities, String arch) {
    List<String> arches = new ArrayList<>();
    DEFAULT.path("archMap").path(arch).forEach(a -> arches.add(a.asText()));
    List<RuntimeSpec.Syscall> rules = new ArrayList<>();
    for (JsonNode rule : DEFAULT.path("syscalls")) {
      if (!matches(rule.path("includes"), capabilities, arch, true)
          || matches(rule.path("excludes"), capabilities, arch, false)) {
        continue;
      }
      List<String> names = new ArrayList<>();
      rule.path("names").forEach(n -> names.add(n.asText()));
      List<RuntimeSpec.SeccompArg> args = null;
      if (rule.has("args")) {
        args = new ArrayList<>();
        for (JsonNode a : rule.path("args")) {
          args.add(new RuntimeSpec.SeccompArg(a.path("index").asInt(), a.path("value").asLong(),
              a.has("valueTwo") ? a.path("valueTwo").asLong() : null, a.path("op").asText()));
        }
      }
      Integer errno = rule.has("errnoRet") ? rule.path("errnoRet").asInt() : null;
      rules.add(new RuntimeSpec.Syscall(names, rule.path("action").asText(), errno, args));
    }
    return new RuntimeSpec.Seccomp(DEFAULT.path("defaultAction").asText(), null, arches, rules);
  }

  /**
   * Whether a condition object holds. For includes every listed cap/arch must match (empty object: true); for
   * excludes any match counts (empty object: false).
   */
  private static boolean matches(JsonNode cond, List<String> caps, String arch, boolean include) {
    if (cond.isMissingNode() || cond.isEmpty()) {
      return include;
    }
    boolean capHit = false;
    boolean capAll = true;
    for (JsonNode c : cond.path("caps")) {
      boolean has = caps.contains(c.asText());
      capHit |= has;
      capAll &= has;
    }
    boolean archHit = false;
    boolean archAny = !cond.has("arches");
    for (JsonNode a : cond.path("arches")) {
      if (a.asText().equals(arch)) {
        archHit = true;
        archAny = true;
      }
    }
    if (include) {
      return capAll && archAny;
    }
    return capHit || archHit;
  }

  /** Parses a localhost profile in OCI (or Docker, for the common fields) format. */
  static RuntimeSpec.Seccomp parse(String json, String where) {
    try {
      RuntimeSpec.Seccomp s = RuntimeSpec.JSON.readValue(json, RuntimeSpec.Seccomp.class);
      if (s.defaultAction() == null || s.defaultAction().isEmpty()) {
        throw BerthException.invalidArgument("seccomp profile %s has no defaultAction", where);
      }
      return s;
    } catch (IOException e) {
      throw BerthException.invalidArgument("bad seccomp profile %s: %s", where, e.getMessage());
    }
  }
}
