package io.berth.streaming;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The request line and headers of the HTTP/1.1 request that opens a streaming session (RFC 9112), parsed with hard
 * limits; the body, if any, is never read. Also writes the few plain responses the server sends.
 */
record HttpHead(String method, String path, Map<String, List<String>> query, Map<String, List<String>> headers) {
  static final int MAX_LINE = 8192;
  static final int MAX_HEAD = 32768;
  static final int MAX_HEADERS = 100;

  /** A request the server refuses with this HTTP status and message. */
  static class BadRequest extends Exception {
    final int status;

    BadRequest(int status, String message) {
      super(message);
      this.status = status;
    }
  }

  static HttpHead read(InputStream in) throws IOException, BadRequest {
    int[] budget = {MAX_HEAD};
    String requestLine = readLine(in, budget);
    String[] parts = requestLine.split(" ");
    if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) {
      throw new BadRequest(400, "malformed request line");
    }
    Map<String, List<String>> headers = new LinkedHashMap<>();
    int n = 0;
    for (String line = readLine(in, budget); !line.isEmpty(); line = readLine(in, budget)) {
      if (++n > MAX_HEADERS) {
        throw new BadRequest(431, "too many header fields");
      }
      int colon = line.indexOf(':');
      if (colon <= 0 || line.charAt(0) == ' ' || line.charAt(0) == '\t') {
        throw new BadRequest(400, "malformed header field");
      }
      String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
      headers.computeIfAbsent(name, k -> new ArrayList<>()).add(line.substring(colon + 1).trim());
    }
    String target = parts[1];
    int q = target.indexOf('?');
    String path = q < 0 ? target : target.substring(0, q);
    Map<String, List<String>> query = new LinkedHashMap<>();
    if (q >= 0) {
      for (String kv : target.substring(q + 1).split("&")) {
        if (kv.isEmpty()) {
          continue;
        }
        int eq = kv.indexOf('=');
        try {
          String k = URLDecoder.decode(eq < 0 ? kv : kv.substring(0, eq), StandardCharsets.UTF_8);
          String v = eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8);
          query.computeIfAbsent(k, x -> new ArrayList<>()).add(v);
        } catch (IllegalArgumentException e) {
          throw new BadRequest(400, "malformed query string");
        }
      }
    }
    return new HttpHead(parts[0], path, query, headers);
  }

  private static String readLine(InputStream in, int[] budget) throws IOException, BadRequest {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    while (true) {
      int c = in.read();
      if (c < 0) {
        throw new EOFException("connection closed inside the request head");
      }
      if (--budget[0] < 0) {
        throw new BadRequest(431, "request head too large");
      }
      if (c == '\n') {
        byte[] b = line.toByteArray();
        int len = b.length > 0 && b[b.length - 1] == '\r' ? b.length - 1 : b.length;
        return new String(b, 0, len, StandardCharsets.ISO_8859_1);
      }
      if (line.size() >= MAX_LINE) {
        throw new BadRequest(431, "header line too long");
      }
      line.write(c);
    }
  }

  Optional<String> header(String name) {
    List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
    return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.getFirst());
  }

  /** All values of a header, comma-separated lists split and trimmed (Go's commaSeparatedHeaderValues). */
  List<String> headerTokens(String name) {
    List<String> out = new ArrayList<>();
    for (String v : headers.getOrDefault(name.toLowerCase(Locale.ROOT), List.of())) {
      for (String t : v.split(",")) {
        if (!t.isBlank()) {
          out.add(t.trim());
        }
      }
    }
    return out;
  }

  /** {@code Connection} names {@code upgrade} (kubelet: httpstream.IsUpgradeRequest). */
  boolean isUpgrade() {
    return headerTokens("connection").stream().anyMatch(t -> t.equalsIgnoreCase("upgrade"));
  }

  boolean isWebSocket() {
    return isUpgrade() && header("upgrade").map(u -> u.equalsIgnoreCase("websocket")).orElse(false);
  }

  static void writeError(OutputStream out, int status, String message, Map<String, String> extraHeaders)
      throws IOException {
    byte[] body = (message + "\n").getBytes(StandardCharsets.UTF_8);
    StringBuilder sb = new StringBuilder()
        .append("HTTP/1.1 ").append(status).append(' ').append(reason(status)).append("\r\n")
        .append("Content-Type: text/plain; charset=utf-8\r\n")
        .append("X-Content-Type-Options: nosniff\r\n")
        .append("Content-Length: ").append(body.length).append("\r\n")
        .append("Connection: close\r\n");
    extraHeaders.forEach((k, v) -> sb.append(k).append(": ").append(v).append("\r\n"));
    sb.append("\r\n");
    out.write(sb.toString().getBytes(StandardCharsets.ISO_8859_1));
    out.write(body);
    out.flush();
  }

  static void writeSwitchingProtocols(OutputStream out, Map<String, String> headers) throws IOException {
    StringBuilder sb = new StringBuilder("HTTP/1.1 101 Switching Protocols\r\n");
    headers.forEach((k, v) -> sb.append(k).append(": ").append(v).append("\r\n"));
    sb.append("\r\n");
    out.write(sb.toString().getBytes(StandardCharsets.ISO_8859_1));
    out.flush();
  }

  private static String reason(int status) {
    return switch (status) {
      case 400 -> "Bad Request";
      case 403 -> "Forbidden";
      case 404 -> "Not Found";
      case 405 -> "Method Not Allowed";
      case 431 -> "Request Header Fields Too Large";
      case 503 -> "Service Unavailable";
      default -> "Error";
    };
  }
}
