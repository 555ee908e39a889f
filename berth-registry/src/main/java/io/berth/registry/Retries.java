package io.berth.registry;

import io.berth.core.BerthException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.util.concurrent.ThreadLocalRandom;
import javax.net.ssl.SSLHandshakeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retries with exponential backoff and jitter for 5xx answers and broken connections. A refused connection, an
 * unknown host or a failed TLS handshake is not retried: it will not heal in seconds, and the next endpoint (a
 * mirror's fallback) should be tried at once.
 */
final class Retries {
  private static final Logger log = LoggerFactory.getLogger(Retries.class);
  static final long BASE_MILLIS = 100;
  static final long CAP_MILLIS = 5_000;

  private Retries() {}

  @FunctionalInterface
  interface IoCall<T> {
    T call() throws IOException;
  }

  static <T> T run(int maxRetries, String what, IoCall<T> call) {
    int attempt = 0;
    while (true) {
      try {
        return call.call();
      } catch (IOException e) {
        if (isPermanent(e)) {
          throw unreachable(what, e);
        }
        if (attempt >= maxRetries) {
          throw BerthException.unavailable("%s: %s (after %d attempts)", what, describe(e), attempt + 1);
        }
        log.debug("{}: {}; retrying", what, describe(e));
      } catch (TransientException e) {
        if (attempt >= maxRetries) {
          throw BerthException.unavailable("%s (after %d attempts)", e.getMessage(), attempt + 1);
        }
        log.debug("{}; retrying", e.getMessage());
      }
      sleep(backoff(attempt++));
    }
  }

  static boolean isPermanent(IOException e) {
    return e instanceof ConnectException || e instanceof UnknownHostException || e instanceof NoRouteToHostException
        || e instanceof SSLHandshakeException;
  }

  static BerthException unreachable(String what, IOException e) {
    return new BerthException(io.berth.core.ErrorKind.UNAVAILABLE, what + ": " + describe(e), e);
  }

  static String describe(Throwable e) {
    String m = e.getMessage();
    return m == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": " + m;
  }

  static long backoff(int attempt) {
    long d = Math.min(CAP_MILLIS, BASE_MILLIS << Math.min(attempt, 20));
    return d / 2 + ThreadLocalRandom.current().nextLong(d / 2 + 1);
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw BerthException.cancelled("interrupted while waiting to retry");
    }
  }
}
