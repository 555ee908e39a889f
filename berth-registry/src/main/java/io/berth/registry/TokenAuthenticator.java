package io.berth.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.core.BerthException;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends registry requests with the right {@code Authorization}: none, Basic, or a Bearer token obtained by the
 * challenge flow of the Docker token spec (https://distribution.github.io/distribution/spec/auth/token/): a 401
 * answer's {@code WWW-Authenticate} names a realm and service; the token is requested there for the scope
 * {@code repository:<repo>:<actions>}, with Basic credentials or an OAuth2 refresh token (identity token) if known,
 * anonymously otherwise. Challenges are remembered per endpoint and tokens cached per (endpoint, scope, user) until
 * they expire, so later requests authenticate up front instead of taking a 401 each. Thread-safe.
 */
final class TokenAuthenticator {
  private static final Logger log = LoggerFactory.getLogger(TokenAuthenticator.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_TOKEN_RESPONSE = 1 << 20;
  /** Tokens are dropped this long before they expire, so one is not sent just as it lapses. */
  private static final long EXPIRY_MARGIN_SECONDS = 5;
  private static final long DEFAULT_EXPIRES_IN = 60;

  private final HttpTransport transport;
  private final Clock clock;
  private final Map<String, Challenge> challenges = new ConcurrentHashMap<>();
  private final Map<String, Token> tokens = new ConcurrentHashMap<>();

  TokenAuthenticator(HttpTransport transport, Clock clock) {
    this.transport = transport;
    this.clock = clock;
  }

  /** A parsed {@code WWW-Authenticate} challenge. */
  record Challenge(String scheme, Map<String, String> params) {
    boolean bearer() {
      return scheme.equalsIgnoreCase("bearer");
    }

    boolean basic() {
      return scheme.equalsIgnoreCase("basic");
    }

    /** Parses {@code Bearer realm="...",service="...",scope="a:b:pull,push"} (commas inside quotes kept). */
    static Challenge parse(String header) {
      String h = header.strip();
      int sp = h.indexOf(' ');
      String scheme = sp < 0 ? h : h.substring(0, sp);
      Map<String, String> params = new LinkedHashMap<>();
      int i = sp < 0 ? h.length() : sp + 1;
      while (i < h.length()) {
        while (i < h.length() && (h.charAt(i) == ' ' || h.charAt(i) == ',')) {
          i++;
        }
        int eq = h.indexOf('=', i);
        if (eq < 0) {
          break;
        }
        String key = h.substring(i, eq).strip().toLowerCase(Locale.ROOT);
        i = eq + 1;
        StringBuilder val = new StringBuilder();
        if (i < h.length() && h.charAt(i) == '"') {
          i++;
          while (i < h.length() && h.charAt(i) != '"') {
            if (h.charAt(i) == '\\' && i + 1 < h.length()) {
              i++;
            }
            val.append(h.charAt(i++));
          }
          i++;
        } else {
          while (i < h.length() && h.charAt(i) != ',') {
            val.append(h.charAt(i++));
          }
        }
        params.put(key, val.toString().strip());
      }
      return new Challenge(scheme, params);
    }
  }

  private record Token(String value, Instant expires) {}

  /**
   * Sends {@code req} for {@code session}, authenticating up front if the endpoint challenged before, and once more
   * after a 401. The caller owns (and must close) the returned response, whatever its status other than 401.
   * UNAUTHENTICATED if the endpoint still answers 401 or 403 after the token dance.
   */
  HttpTransport.Response send(Session session, HttpTransport.Request req) throws IOException {
    Endpoint ep = session.endpoint();
    Optional<String> auth = Optional.empty();
    Challenge known = challenges.get(ep.authority());
    if (known != null) {
      auth = authorization(session, known, false);
    }
    HttpTransport.Response r = transport.send(withAuth(req, auth), ep.tls(), ep.hostnames());
    if (r.status() != 401) {
      return r;
    }
    Optional<String> header = r.header("WWW-Authenticate");
    r.close();
    if (header.isEmpty()) {
      throw BerthException.unauthenticated("%s: HTTP 401 without a WWW-Authenticate challenge", session.where());
    }
    Challenge challenge = Challenge.parse(header.get());
    challenges.put(ep.authority(), challenge);
    auth = authorization(session, challenge, true);
    if (auth.isEmpty()) {
      throw BerthException.unauthenticated("%s requires %s authentication and no credentials were given",
          session.where(), challenge.scheme());
    }
    r = transport.send(withAuth(req, auth), ep.tls(), ep.hostnames());
    if (r.status() == 401 || r.status() == 403) {
      BerthException e = Responses.failure(r, session.where() + ": credentials refused");
      throw BerthException.unauthenticated("%s", e.getMessage());
    }
    return r;
  }

  private static HttpTransport.Request withAuth(HttpTransport.Request req, Optional<String> auth) {
    return auth.map(a -> req.header("Authorization", a)).orElse(req);
  }

  /** The Authorization header for a challenge; empty when anonymous access is all that can be tried. */
  private Optional<String> authorization(Session session, Challenge ch, boolean fresh) throws IOException {
    Optional<Credentials> creds = session.credentials();
    if (ch.basic()) {
      return creds.flatMap(Credentials::basicHeader);
    }
    if (!ch.bearer()) {
      throw BerthException.unauthenticated("%s: unsupported authentication scheme %s", session.where(), ch.scheme());
    }
    Optional<String> given = creds.flatMap(Credentials::bearer);
    if (given.isPresent()) {
      return Optional.of("Bearer " + given.get());
    }
    String key = session.endpoint().authority() + "|" + session.scope() + "|"
        + creds.flatMap(Credentials::user).orElse("");
    Token t = tokens.get(key);
    if (!fresh && t != null && clock.instant().isBefore(t.expires())) {
      return Optional.of("Bearer " + t.value());
    }
    t = fetchToken(session, ch);
    tokens.put(key, t);
    return Optional.of("Bearer " + t.value());
  }

  private Token fetchToken(Session session, Challenge ch) throws IOException {
    String realm = ch.params().get("realm");
    if (realm == null || realm.isBlank()) {
      throw BerthException.unauthenticated("%s: Bearer challenge without a realm", session.where());
    }
    URI realmUri;
    try {
      realmUri = URI.create(realm);
    } catch (IllegalArgumentException e) {
      throw BerthException.unauthenticated("%s: bad token realm %s", session.where(), realm);
    }
    Endpoint ep = session.endpoint();
    boolean sameHost = ep.authority().equalsIgnoreCase(String.valueOf(realmUri.getRawAuthority()));
    if ("http".equalsIgnoreCase(realmUri.getScheme()) && !ep.insecure()
        && !EndpointResolver.isLoopback(String.valueOf(realmUri.getHost()))) {
      throw BerthException.unauthenticated("%s: refusing to send credentials to plain-HTTP token realm %s",
          session.where(), realm);
    }
    StringBuilder query = new StringBuilder();
    Optional.ofNullable(ch.params().get("service")).ifPresent(s -> param(query, "service", s));
    param(query, "scope", session.scope());
    String challengeScope = ch.params().get("scope");
    if (challengeScope != null && !challengeScope.isBlank() && !challengeScope.equals(session.scope())) {
      param(query, "scope", challengeScope);
    }
    Optional<Credentials> creds = session.credentials();
    HttpTransport.Request req;
    if (creds.flatMap(Credentials::identity).isPresent()) {
      // OAuth2 refresh-token grant, as docker does for identity tokens.
      StringBuilder form = new StringBuilder();
      param(form, "grant_type", "refresh_token");
      Optional.ofNullable(ch.params().get("service")).ifPresent(s -> param(form, "service", s));
      param(form, "scope", session.scope());
      param(form, "client_id", "berth");
      param(form, "refresh_token", creds.get().identity().orElseThrow());
      req = HttpTransport.Request.of("POST", realmUri)
          .header("Content-Type", "application/x-www-form-urlencoded")
          .body(form.toString().getBytes(StandardCharsets.UTF_8));
    } else {
      String sep = realm.contains("?") ? "&" : "?";
      req = HttpTransport.Request.of("GET", URI.create(realm + sep + query));
      Optional<String> basic = creds.flatMap(Credentials::basicHeader);
      if (basic.isPresent()) {
        req = req.header("Authorization", basic.get());
      }
    }
    log.debug("requesting token for {} from {}", session.scope(), realm);
    try (HttpTransport.Response r = transport.send(req, sameHost ? ep.tls() : Optional.empty(),
        sameHost ? ep.hostnames() : Optional.empty())) {
      if (r.status() == 401 || r.status() == 403) {
        BerthException e = Responses.failure(r, "token server " + realm);
        throw BerthException.unauthenticated("%s: token server refused credentials%s: %s", session.where(),
            creds.flatMap(Credentials::user).map(u -> " for user " + u).orElse(" (anonymous)"), e.getMessage());
      }
      if (r.status() != 200) {
        BerthException e = Responses.failure(r, "token server " + realm);
        throw new BerthException(e.kind() == io.berth.core.ErrorKind.UNAUTHENTICATED
            ? io.berth.core.ErrorKind.UNAUTHENTICATED : io.berth.core.ErrorKind.UNAVAILABLE,
            session.where() + ": " + e.getMessage());
      }
      byte[] body = r.bodyBytes(MAX_TOKEN_RESPONSE);
      JsonNode json;
      try {
        json = JSON.readTree(body);
      } catch (IOException e) {
        throw BerthException.unauthenticated("%s: token server %s sent no JSON", session.where(), realm);
      }
      String token = json.path("token").asText("");
      if (token.isEmpty()) {
        token = json.path("access_token").asText("");
      }
      if (token.isEmpty()) {
        throw BerthException.unauthenticated("%s: token server %s sent no token", session.where(), realm);
      }
      long expiresIn = json.path("expires_in").asLong(DEFAULT_EXPIRES_IN);
      if (expiresIn <= 0) {
        expiresIn = DEFAULT_EXPIRES_IN;
      }
      Instant issued = clock.instant();
      return new Token(token, issued.plusSeconds(Math.max(1, expiresIn - EXPIRY_MARGIN_SECONDS)));
    }
  }

  private static void param(StringBuilder sb, String k, String v) {
    if (!sb.isEmpty()) {
      sb.append('&');
    }
    sb.append(URLEncoder.encode(k, StandardCharsets.UTF_8)).append('=').append(URLEncoder.encode(v,
        StandardCharsets.UTF_8));
  }
}
