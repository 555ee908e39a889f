package io.berth.registry;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.HttpsURLConnection;

/**
 * One HTTP exchange over {@link HttpURLConnection}. Chosen over {@code java.net.http.HttpClient} because its socket
 * read timeout is exactly "no byte for stallTimeout", which is how a stalled transfer is detected without a
 * wall-clock cap; keep-alive connections are pooled by the JDK. Blocking, on the caller's (virtual) thread.
 */
final class HttpTransport {
  private final Duration connectTimeout;
  private final Duration stallTimeout;

  HttpTransport(Duration connectTimeout, Duration stallTimeout) {
    this.connectTimeout = connectTimeout;
    this.stallTimeout = stallTimeout;
  }

  /** A request; {@code body} is a byte array, a file, or absent. */
  record Request(String method, URI uri, Map<String, String> headers, Optional<Object> body) {
    static Request of(String method, URI uri) {
      return new Request(method, uri, new LinkedHashMap<>(), Optional.empty());
    }

    Request header(String name, String value) {
      Map<String, String> h = new LinkedHashMap<>(headers);
      h.put(name, value);
      return new Request(method, uri, h, body);
    }

    Request withoutHeader(String name) {
      Map<String, String> h = new LinkedHashMap<>(headers);
      h.remove(name);
      return new Request(method, uri, h, body);
    }

    Request body(Object bytesOrPath) {
      return new Request(method, uri, headers, Optional.of(bytesOrPath));
    }

    Request uri(URI u) {
      return new Request(method, u, headers, body);
    }
  }

  /** A response whose body must be closed; {@link #abort()} drops the connection instead of returning it. */
  static final class Response implements AutoCloseable {
    private final HttpURLConnection conn;
    private final int status;
    private InputStream body;

    Response(HttpURLConnection conn, int status) {
      this.conn = conn;
      this.status = status;
    }

    int status() {
      return status;
    }

    Optional<String> header(String name) {
      return Optional.ofNullable(conn.getHeaderField(name));
    }

    long contentLength() {
      return conn.getContentLengthLong();
    }

    InputStream body() throws IOException {
      if (body == null) {
        InputStream in = status >= 400 ? conn.getErrorStream() : conn.getInputStream();
        body = in == null ? InputStream.nullInputStream() : in;
      }
      return body;
    }

    /** Reads at most {@code max} bytes of the body (error bodies, small JSON). */
    byte[] bodyBytes(int max) throws IOException {
      return body().readNBytes(max);
    }

    URI uri() {
      try {
        return conn.getURL().toURI();
      } catch (java.net.URISyntaxException e) {
        throw new IllegalStateException(e);
      }
    }

    /** Closes the connection outright, e.g. after a partial read, so it is not reused. */
    void abort() {
      conn.disconnect();
    }

    @Override
    public void close() {
      try {
        if (body != null) {
          body.close();
        } else if (status >= 400) {
          InputStream in = conn.getErrorStream();
          if (in != null) {
            in.close();
          }
        } else {
          conn.getInputStream().close();
        }
      } catch (IOException e) {
        conn.disconnect();
      }
    }
  }

  Response send(Request req, Optional<javax.net.ssl.SSLSocketFactory> tls,
      Optional<javax.net.ssl.HostnameVerifier> hostnames) throws IOException {
    HttpURLConnection conn = (HttpURLConnection) req.uri().toURL().openConnection();
    if (conn instanceof HttpsURLConnection https) {
      tls.ifPresent(https::setSSLSocketFactory);
      hostnames.ifPresent(https::setHostnameVerifier);
    }
    conn.setInstanceFollowRedirects(false);
    conn.setUseCaches(false);
    conn.setConnectTimeout((int) Math.min(Integer.MAX_VALUE, connectTimeout.toMillis()));
    conn.setReadTimeout((int) Math.min(Integer.MAX_VALUE, stallTimeout.toMillis()));
    conn.setRequestMethod(req.method());
    req.headers().forEach(conn::setRequestProperty);
    if (req.body().isPresent()) {
      Object b = req.body().get();
      conn.setDoOutput(true);
      if (b instanceof byte[] bytes) {
        conn.setFixedLengthStreamingMode(bytes.length);
        try (OutputStream out = conn.getOutputStream()) {
          out.write(bytes);
        }
      } else if (b instanceof Path file) {
        conn.setFixedLengthStreamingMode(Files.size(file));
        try (OutputStream out = conn.getOutputStream(); InputStream in = Files.newInputStream(file)) {
          in.transferTo(out);
        }
      } else {
        throw new IllegalArgumentException("body must be byte[] or Path");
      }
    } else if (req.method().equals("PUT") || req.method().equals("POST") || req.method().equals("PATCH")) {
      conn.setDoOutput(true);
      conn.setFixedLengthStreamingMode(0);
      conn.getOutputStream().close();
    }
    try {
      return new Response(conn, conn.getResponseCode());
    } catch (IOException e) {
      conn.disconnect();
      throw e;
    }
  }
}
