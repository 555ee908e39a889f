package io.berth.bench;

/** A benchmark could not be set up or run; the message says which step and why. */
final class BenchException extends RuntimeException {
    BenchException(String message) {
        super(message);
    }

    BenchException(String message, Throwable cause) {
        super(message, cause);
    }
}
