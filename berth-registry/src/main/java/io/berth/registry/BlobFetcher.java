package io.berth.registry;

import io.berth.content.Ingest;
import io.berth.core.BerthException;
import io.berth.core.Descriptor;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams a blob into an {@link Ingest} (distribution spec "Pulling blobs"). A broken connection, a stall (no byte
 * for the stall timeout: the socket read timeout) or a 5xx is retried with backoff, resuming with
 * {@code Range: bytes=<offset>-} from what the ingest already holds; a server that ignores the range (200 instead of
 * 206) restarts the ingest from zero. An attempt that made progress does not count against the retry budget, so a
 * long pull over a flaky link completes: there is no wall-clock cap. A body whose length disagrees with the
 * descriptor fails at once with INVALID_ARGUMENT. Redirects (to blob storage) are followed without the registry's
 * Authorization header when they leave the endpoint's host.
 */
final class BlobFetcher {
  private static final Logger log = LoggerFactory.getLogger(BlobFetcher.class);
  private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");
  private static final int BUFFER = 128 << 10;
  private static final int MAX_REDIRECTS = 5;

  private final TokenAuthenticator auth;
  private final HttpTransport transport;
  private final int maxRetries;

  BlobFetcher(TokenAuthenticator auth, HttpTransport transport, int maxRetries) {
    this.auth = auth;
    this.transport = transport;
    this.maxRetries = maxRetries;
  }

  void fetch(Session s, Descriptor blob, Ingest into, Progress progress) {
    String what = "blob " + blob.digest() + " of " + s.where();
    URI uri = s.endpoint().resolve(s.ref().repository() + "/blobs/" + blob.digest());
    int failures = 0;
    while (into.offset() < blob.size() || blob.size() == 0 && into.offset() == 0) {
      long before = into.offset();
      try {
        boolean complete = attempt(s, uri, blob, into, progress, what);
        if (complete) {
          return;
        }
        throw new IOException("connection closed after " + into.offset() + " of " + blob.size() + " bytes");
      } catch (IOException e) {
        if (Retries.isPermanent(e)) {
          throw Retries.unreachable(what, e);
        }
        if (into.offset() > before) {
          failures = 0;
        }
        if (failures >= maxRetries) {
          throw BerthException.unavailable("%s: %s (after %d attempts without progress; %d of %d bytes received)",
              what, Retries.describe(e), failures + 1, into.offset(), blob.size());
        }
        log.debug("{}: {} at {} of {} bytes; resuming", what, Retries.describe(e), into.offset(), blob.size());
      } catch (TransientException e) {
        if (failures >= maxRetries) {
          throw BerthException.unavailable("%s (after %d attempts)", e.getMessage(), failures + 1);
        }
        log.debug("{}; retrying", e.getMessage());
      }
      Retries.sleep(Retries.backoff(failures++));
    }
  }

  /** One GET; true if the blob is complete afterwards. */
  private boolean attempt(Session s, URI uri, Descriptor blob, Ingest into, Progress progress, String what)
      throws IOException {
    long offset = into.offset();
    HttpTransport.Request req = HttpTransport.Request.of("GET", uri);
    if (offset > 0) {
      req = req.header("Range", "bytes=" + offset + "-");
    }
    HttpTransport.Response r = auth.send(s, req);
    for (int hops = 0; isRedirect(r.status()); hops++) {
      Optional<String> loc = r.header("Location");
      r.close();
      if (loc.isEmpty() || hops >= MAX_REDIRECTS) {
        throw BerthException.unavailable("%s: bad redirect (HTTP %d)", what, r.status());
      }
      URI next = r.uri().resolve(loc.get());
      boolean sameHost = String.valueOf(next.getRawAuthority()).equalsIgnoreCase(s.endpoint().authority());
      req = req.uri(next);
      if (sameHost) {
        r = auth.send(s, req);
      } else {
        r = transport.send(req.withoutHeader("Authorization"), Optional.empty(), Optional.empty());
      }
    }
    boolean ok = false;
    try {
      long expectedBody;
      switch (r.status()) {
        case 200 -> {
          if (offset > 0) {
            log.debug("{}: server ignored Range; restarting from zero", what);
            progress.bytes(blob.digest(), -offset);
            into.reset();
          }
          long cl = r.contentLength();
          if (cl >= 0 && cl != blob.size()) {
            throw BerthException.invalidArgument("%s: registry sends %d bytes but the descriptor says %d", what, cl,
                blob.size());
          }
          expectedBody = blob.size();
        }
        case 206 -> {
          Matcher m = CONTENT_RANGE.matcher(r.header("Content-Range").orElse(""));
          if (!m.matches() || Long.parseLong(m.group(1)) != offset) {
            // A range we did not ask for: start over without one.
            progress.bytes(blob.digest(), -offset);
            into.reset();
            r.abort();
            throw new IOException("unexpected Content-Range " + r.header("Content-Range").orElse("(none)"));
          }
          if (!m.group(3).equals("*") && Long.parseLong(m.group(3)) != blob.size()) {
            throw BerthException.invalidArgument("%s: registry has %s bytes but the descriptor says %d", what,
                m.group(3), blob.size());
          }
          expectedBody = blob.size() - offset;
        }
        case 416 -> throw BerthException.invalidArgument(
            "%s: registry cannot serve bytes from %d on: the blob is shorter than the descriptor's %d bytes", what,
            offset, blob.size());
        default -> throw Responses.failure(r, what);
      }
      copy(r.body(), into, progress, blob, expectedBody);
      ok = into.offset() == blob.size();
      return ok;
    } finally {
      if (ok) {
        r.close();
      } else {
        r.abort();
      }
    }
  }

  private static void copy(InputStream in, Ingest into, Progress progress, Descriptor blob, long expectedBody)
      throws IOException {
    OutputStream out = into.stream();
    byte[] buf = new byte[BUFFER];
    long remaining = expectedBody;
    while (remaining > 0) {
      int n = in.read(buf, 0, (int) Math.min(buf.length, remaining));
      if (n < 0) {
        return;
      }
      out.write(buf, 0, n);
      remaining -= n;
      progress.bytes(blob.digest(), n);
    }
  }

  private static boolean isRedirect(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
  }
}
