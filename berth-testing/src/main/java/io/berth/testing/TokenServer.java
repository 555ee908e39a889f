package io.berth.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A Bearer token server for tests, speaking the Docker token protocol
 * (https://distribution.github.io/distribution/spec/auth/token/) to a {@link LocalRegistry} configured with
 * {@code auth: token:}. {@code GET /token?service=..&scope=..} checks Basic credentials (or allows anonymous pulls if
 * enabled) and answers a JWT signed RS256 with a key whose self-signed certificate it writes to {@link #certFile()}
 * (the registry's {@code rootcertbundle}); the token carries the certificate in its {@code x5c} header, which
 * distribution 2.8 verifies against that bundle. {@code POST /token} implements the OAuth2 refresh-token grant for
 * identity tokens. Counts issued tokens so tests can check caching.
 */
public final class TokenServer implements AutoCloseable {
  public static final String SERVICE = "berth-test-registry";
  public static final String ISSUER = "berth-test-token-issuer";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long EXPIRES_IN = 300;

  private final Path dir;
  private final HttpServer server;
  private final PrivateKey key;
  private final X509Certificate cert;
  private final Map<String, String> users = new ConcurrentHashMap<>();
  private final Map<String, String> identityTokens = new ConcurrentHashMap<>();
  private volatile boolean anonymousPull;
  private final AtomicInteger issued = new AtomicInteger();
  private final AtomicInteger refused = new AtomicInteger();

  private TokenServer(Path dir) throws Exception {
    this.dir = dir;
    Path p12 = dir.resolve("token.p12");
    String pass = "berth-test";
    // The JDK has no public API to make a certificate; its keytool does.
    Process kt = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
        "-genkeypair", "-alias", "token", "-keyalg", "RSA", "-keysize", "2048", "-sigalg", "SHA256withRSA",
        "-dname", "CN=berth-test-token", "-validity", "3650", "-keystore", p12.toString(), "-storetype", "PKCS12",
        "-storepass", pass, "-keypass", pass).redirectErrorStream(true).start();
    String out = new String(kt.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (kt.waitFor() != 0) {
      throw new IOException("keytool failed: " + out);
    }
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (var in = Files.newInputStream(p12)) {
      ks.load(in, pass.toCharArray());
    }
    this.key = (PrivateKey) ks.getKey("token", pass.toCharArray());
    this.cert = (X509Certificate) ks.getCertificate("token");
    String pem = "-----BEGIN CERTIFICATE-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(cert.getEncoded())
        + "\n-----END CERTIFICATE-----\n";
    Files.writeString(certFile(), pem);
    this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/token", this::handle);
    server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server.start();
  }

  /** Starts a token server on 127.0.0.1 with a fresh key in a temp dir. */
  public static TokenServer start() {
    try {
      return new TokenServer(Files.createTempDirectory("berth-token-"));
    } catch (Exception e) {
      throw new IllegalStateException("cannot start token server", e);
    }
  }

  /** Accepts this user (Basic credentials) for pull and push. */
  public TokenServer user(String username, String password) {
    users.put(username, password);
    return this;
  }

  /** Accepts this OAuth2 refresh token (a Docker identity token) for pull and push. */
  public TokenServer identityToken(String refreshToken) {
    identityTokens.put(refreshToken, "identity");
    return this;
  }

  /** Grants {@code pull} to requests without credentials. */
  public TokenServer allowAnonymousPull(boolean allow) {
    this.anonymousPull = allow;
    return this;
  }

  /** The token endpoint, the registry's {@code realm}. */
  public String realm() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/token";
  }

  /** PEM of the signing certificate, the registry's {@code rootcertbundle}. */
  public Path certFile() {
    return dir.resolve("token-cert.pem");
  }

  /** Tokens issued so far. */
  public int issuedTokens() {
    return issued.get();
  }

  /** Token requests refused so far (bad or missing credentials). */
  public int refusedRequests() {
    return refused.get();
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      Map<String, List<String>> params = new LinkedHashMap<>();
      parseQuery(ex.getRequestURI().getRawQuery(), params);
      String subject;
      boolean full;
      if (ex.getRequestMethod().equals("POST")) {
        parseQuery(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8), params);
        String refresh = first(params, "refresh_token");
        if (!"refresh_token".equals(first(params, "grant_type")) || refresh == null
            || !identityTokens.containsKey(refresh)) {
          deny(ex);
          return;
        }
        subject = "identity";
        full = true;
      } else {
        String authz = ex.getRequestHeaders().getFirst("Authorization");
        if (authz == null) {
          if (!anonymousPull) {
            deny(ex);
            return;
          }
          subject = "";
          full = false;
        } else {
          String user = basicUser(authz);
          if (user == null) {
            deny(ex);
            return;
          }
          subject = user;
          full = true;
        }
      }
      ArrayNode access = JSON.createArrayNode();
      for (String scope : params.getOrDefault("scope", List.of())) {
        String[] parts = scope.split(":");
        if (parts.length != 3 || !parts[0].equals("repository")) {
          continue;
        }
        ObjectNode a = access.addObject();
        a.put("type", "repository").put("name", parts[1]);
        ArrayNode actions = a.putArray("actions");
        for (String action : parts[2].split(",")) {
          if (full || action.equals("pull")) {
            actions.add(action);
          }
        }
      }
      long now = Instant.now().getEpochSecond();
      ObjectNode header = JSON.createObjectNode().put("typ", "JWT").put("alg", "RS256");
      header.putArray("x5c").add(Base64.getEncoder().encodeToString(cert.getEncoded()));
      ObjectNode claims = JSON.createObjectNode().put("iss", ISSUER).put("sub", subject)
          .put("aud", first(params, "service") == null ? SERVICE : first(params, "service"))
          .put("exp", now + EXPIRES_IN).put("nbf", now - 10).put("iat", now).put("jti", UUID.randomUUID().toString());
      claims.set("access", access);
      Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
      String signingInput = b64.encodeToString(JSON.writeValueAsBytes(header)) + "."
          + b64.encodeToString(JSON.writeValueAsBytes(claims));
      Signature sig = Signature.getInstance("SHA256withRSA");
      sig.initSign(key);
      sig.update(signingInput.getBytes(StandardCharsets.US_ASCII));
      String jwt = signingInput + "." + b64.encodeToString(sig.sign());
      ObjectNode body = JSON.createObjectNode().put("token", jwt).put("access_token", jwt)
          .put("expires_in", EXPIRES_IN).put("issued_at", Instant.ofEpochSecond(now).toString());
      issued.incrementAndGet();
      send(ex, 200, JSON.writeValueAsBytes(body));
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private String basicUser(String authz) {
    if (!authz.regionMatches(true, 0, "Basic ", 0, 6)) {
      return null;
    }
    String raw;
    try {
      raw = new String(Base64.getDecoder().decode(authz.substring(6).strip()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return null;
    }
    int colon = raw.indexOf(':');
    if (colon < 0) {
      return null;
    }
    String user = raw.substring(0, colon);
    String expected = users.get(user);
    return expected != null && expected.equals(raw.substring(colon + 1)) ? user : null;
  }

  private void deny(HttpExchange ex) throws IOException {
    refused.incrementAndGet();
    ex.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"berth-test-token\"");
    send(ex, 401, "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"bad credentials\"}]}"
        .getBytes(StandardCharsets.UTF_8));
  }

  private static void send(HttpExchange ex, int status, byte[] body) throws IOException {
    ex.getResponseHeaders().add("Content-Type", "application/json");
    ex.sendResponseHeaders(status, body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }

  private static void parseQuery(String q, Map<String, List<String>> into) {
    if (q == null || q.isEmpty()) {
      return;
    }
    for (String kv : q.split("&")) {
      int eq = kv.indexOf('=');
      String k = URLDecoder.decode(eq < 0 ? kv : kv.substring(0, eq), StandardCharsets.UTF_8);
      String v = eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8);
      into.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
    }
  }

  private static String first(Map<String, List<String>> params, String key) {
    List<String> v = params.get(key);
    return v == null || v.isEmpty() ? null : v.getFirst();
  }

  @Override
  public void close() {
    server.stop(0);
    try (var files = Files.list(dir)) {
      for (Path p : files.toList()) {
        Files.deleteIfExists(p);
      }
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
