package io.berth.registry;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;

/**
 * Registry credentials, shaped like the CRI {@code AuthConfig}: a username and password, or {@code auth}
 * (base64 of {@code user:pass}), or an {@code identityToken} (an OAuth2 refresh token for the token server), or a
 * {@code registryToken} (a bearer token sent as is). Absent fields are null or empty.
 */
public record Credentials(String username, String password, String auth, String identityToken, String registryToken) {

  public static Credentials basic(String username, String password) {
    return new Credentials(username, password, null, null, null);
  }

  /** The username, from {@code username} or decoded from {@code auth}. */
  public Optional<String> user() {
    if (!isBlank(username)) {
      return Optional.of(username);
    }
    return decodedAuth().map(s -> s.substring(0, s.indexOf(':')));
  }

  /** The password, from {@code password} or decoded from {@code auth}. */
  public Optional<String> secret() {
    if (!isBlank(username)) {
      return Optional.ofNullable(password);
    }
    return decodedAuth().map(s -> s.substring(s.indexOf(':') + 1));
  }

  /** True if a username and password are known. */
  public boolean hasBasic() {
    return user().isPresent() && secret().isPresent();
  }

  public Optional<String> identity() {
    return isBlank(identityToken) ? Optional.empty() : Optional.of(identityToken);
  }

  public Optional<String> bearer() {
    return isBlank(registryToken) ? Optional.empty() : Optional.of(registryToken);
  }

  /** The value of a Basic {@code Authorization} header, if a username and password are known. */
  Optional<String> basicHeader() {
    if (!hasBasic()) {
      return Optional.empty();
    }
    String raw = user().orElseThrow() + ":" + secret().orElseThrow();
    return Optional.of("Basic " + Base64.getEncoder().encodeToString(raw.getBytes(StandardCharsets.UTF_8)));
  }

  private Optional<String> decodedAuth() {
    if (isBlank(auth)) {
      return Optional.empty();
    }
    try {
      String s = new String(Base64.getDecoder().decode(auth.strip()), StandardCharsets.UTF_8);
      return s.indexOf(':') > 0 ? Optional.of(s) : Optional.empty();
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  private static boolean isBlank(String s) {
    return s == null || s.isBlank();
  }

  @Override
  public String toString() {
    return "Credentials[user=" + user().orElse("") + "]";
  }
}
