package io.berth.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.core.BerthException;
import io.berth.core.ImageRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Credentials from a Docker {@code config.json}: {@code auths.<host>.auth} (base64 {@code user:pass}), or
 * {@code username}/{@code password}, or {@code identitytoken}. Keys may be a bare host or a URL; Docker Hub is also
 * found under {@code https://index.docker.io/v1/}. Re-read on every lookup so edits apply without a restart (the
 * file is small).
 */
final class DockerConfig {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_BYTES = 4 << 20;

  private DockerConfig() {}

  static Optional<Credentials> lookup(Path file, String registry) {
    JsonNode auths;
    try {
      if (Files.size(file) > MAX_BYTES) {
        throw BerthException.invalidArgument("docker config %s is larger than %d bytes", file, MAX_BYTES);
      }
      auths = JSON.readTree(Files.readAllBytes(file)).path("auths");
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw BerthException.invalidArgument("cannot read docker config %s: %s", file, e.getMessage());
    }
    for (String key : keysFor(registry)) {
      JsonNode n = auths.get(key);
      if (n != null && n.isObject()) {
        Credentials c = new Credentials(text(n, "username"), text(n, "password"), text(n, "auth"),
            text(n, "identitytoken"), text(n, "registrytoken"));
        if (c.hasBasic() || c.identity().isPresent() || c.bearer().isPresent()) {
          return Optional.of(c);
        }
      }
    }
    return Optional.empty();
  }

  private static List<String> keysFor(String registry) {
    List<String> keys = new ArrayList<>(List.of(registry, "https://" + registry, "http://" + registry,
        "https://" + registry + "/v1/", "https://" + registry + "/v2/"));
    if (registry.equals(ImageRef.DOCKER_HUB)) {
      keys.addAll(List.of("https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io",
          "https://registry-1.docker.io"));
    }
    return keys;
  }

  private static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }
}
