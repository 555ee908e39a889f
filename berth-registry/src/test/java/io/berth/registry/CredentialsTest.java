package io.berth.registry;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CredentialsTest {
  @TempDir
  Path tmp;

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void auth_decodedIntoUserAndPassword() {
    Credentials c = new Credentials(null, null, b64("bob:pa:ss"), null, null);
    assertThat(c.user()).contains("bob");
    assertThat(c.secret()).contains("pa:ss");
    assertThat(c.basicHeader()).contains("Basic " + b64("bob:pa:ss"));
  }

  @Test
  void usernamePassword_winOverAuth() {
    Credentials c = new Credentials("alice", "x", b64("bob:y"), null, null);
    assertThat(c.user()).contains("alice");
    assertThat(c.secret()).contains("x");
  }

  @Test
  void empty_hasNothing() {
    Credentials c = new Credentials("", "", "", "", "");
    assertThat(c.hasBasic()).isFalse();
    assertThat(c.identity()).isEmpty();
    assertThat(c.bearer()).isEmpty();
  }

  @Test
  void toString_hidesSecrets() {
    assertThat(Credentials.basic("bob", "hunter2").toString()).doesNotContain("hunter2");
  }

  @Test
  void dockerConfig_hostKeysAndHubAliases() throws Exception {
    Path f = tmp.resolve("config.json");
    Files.writeString(f, """
        {"auths": {
          "https://index.docker.io/v1/": {"auth": "%s"},
          "reg.example:5000": {"username": "u", "password": "p"},
          "https://id.example": {"identitytoken": "refresh"}
        }}""".formatted(b64("hub:pw")));
    assertThat(DockerConfig.lookup(f, "docker.io").flatMap(Credentials::user)).contains("hub");
    assertThat(DockerConfig.lookup(f, "reg.example:5000").flatMap(Credentials::secret)).contains("p");
    assertThat(DockerConfig.lookup(f, "id.example").flatMap(Credentials::identity)).contains("refresh");
    assertThat(DockerConfig.lookup(f, "other.example")).isEmpty();
    assertThat(DockerConfig.lookup(tmp.resolve("missing.json"), "docker.io")).isEmpty();
  }

  @Test
  void errorCodes_mapToKinds() {
    var errors = ErrorCodes.parse("{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\"message\":\"manifest unknown\"}]}"
        .getBytes(StandardCharsets.UTF_8));
    assertThat(ErrorCodes.kindOf(404, errors)).isEqualTo(io.berth.core.ErrorKind.NOT_FOUND);
    assertThat(ErrorCodes.kindOf(401, ErrorCodes.parse("{\"errors\":[{\"code\":\"DENIED\"}]}"
        .getBytes(StandardCharsets.UTF_8)))).isEqualTo(io.berth.core.ErrorKind.UNAUTHENTICATED);
    assertThat(ErrorCodes.kindOf(503, ErrorCodes.parse("not json".getBytes(StandardCharsets.UTF_8))))
        .isEqualTo(io.berth.core.ErrorKind.UNAVAILABLE);
    assertThat(ErrorCodes.kindOf(404, java.util.List.of())).isEqualTo(io.berth.core.ErrorKind.NOT_FOUND);
  }
}
