package io.berth.registry;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TokenAuthenticatorTest {
  @Test
  void parse_bearerWithCommaInScope_keepsQuotedCommas() {
    var c = TokenAuthenticator.Challenge.parse(
        "Bearer realm=\"https://auth.example/token\",service=\"registry.example\",scope=\"repository:a/b:pull,push\"");
    assertThat(c.bearer()).isTrue();
    assertThat(c.params()).containsEntry("realm", "https://auth.example/token")
        .containsEntry("service", "registry.example").containsEntry("scope", "repository:a/b:pull,push");
  }

  @Test
  void parse_basic_realmOnly() {
    var c = TokenAuthenticator.Challenge.parse("Basic realm=\"berth\"");
    assertThat(c.basic()).isTrue();
    assertThat(c.params()).containsEntry("realm", "berth");
  }

  @Test
  void parse_unquotedAndErrorParams() {
    var c = TokenAuthenticator.Challenge.parse("Bearer realm=http://x/token, error=\"insufficient_scope\"");
    assertThat(c.params()).containsEntry("realm", "http://x/token").containsEntry("error", "insufficient_scope");
  }
}
