package io.berth.registry;

import io.berth.core.BerthException;
import io.berth.core.ErrorKind;

/** A failure worth retrying: a 5xx or 429 answer. Surfaces as UNAVAILABLE once retries are spent. */
final class TransientException extends BerthException {
  TransientException(String message) {
    super(ErrorKind.UNAVAILABLE, message);
  }
}
