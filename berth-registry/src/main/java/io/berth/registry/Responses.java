package io.berth.registry;

import io.berth.core.BerthException;
import io.berth.core.ErrorKind;
import java.io.IOException;
import java.util.List;
import java.util.stream.Collectors;

/** Turns an unexpected registry answer into the right exception, naming the action, image and endpoint. */
final class Responses {
  private static final int MAX_ERROR_BODY = 64 << 10;

  private Responses() {}

  /** Reads the error body, closes the response, and returns the exception to throw. */
  static BerthException failure(HttpTransport.Response r, String what) {
    byte[] body;
    try {
      body = r.bodyBytes(MAX_ERROR_BODY);
    } catch (IOException e) {
      body = new byte[0];
    } finally {
      r.close();
    }
    List<ErrorCodes.RegistryError> errors = ErrorCodes.parse(body);
    String detail = errors.isEmpty() ? "" : ": " + errors.stream().map(Object::toString)
        .collect(Collectors.joining("; "));
    String msg = what + ": HTTP " + r.status() + detail;
    if (r.status() >= 500 || r.status() == 429) {
      return new TransientException(msg);
    }
    ErrorKind kind = ErrorCodes.kindOf(r.status(), errors);
    return new BerthException(kind, msg);
  }
}
