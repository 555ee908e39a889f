package io.berth.core;

import java.util.Objects;

/**
 * The one unchecked exception Berth code throws. Its {@link #kind()} alone decides the gRPC status a client sees;
 * the message must be fit for a client (it names ids and actions, never stack traces).
 */
public class BerthException extends RuntimeException {
  private final ErrorKind kind;

  public BerthException(ErrorKind kind, String message) {
    this(kind, message, null);
  }

  public BerthException(ErrorKind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = Objects.requireNonNull(kind);
  }

  public ErrorKind kind() {
    return kind;
  }

  /** Wraps with more context while keeping the cause's kind (containerd's {@code fmt.Errorf("...: %w")}). */
  public static BerthException wrap(Throwable cause, String format, Object... args) {
    String msg = String.format(format, args) + ": " + describe(cause);
    ErrorKind kind = cause instanceof BerthException b ? b.kind : ErrorKind.INTERNAL;
    return new BerthException(kind, msg, cause);
  }

  private static String describe(Throwable t) {
    if (t instanceof BerthException) {
      return t.getMessage();
    }
    String m = t.getMessage();
    return m == null ? t.getClass().getSimpleName() : m;
  }

  public static BerthException invalidArgument(String format, Object... args) {
    return new BerthException(ErrorKind.INVALID_ARGUMENT, String.format(format, args));
  }

  public static BerthException notFound(String format, Object... args) {
    return new BerthException(ErrorKind.NOT_FOUND, String.format(format, args));
  }

  public static BerthException alreadyExists(String format, Object... args) {
    return new BerthException(ErrorKind.ALREADY_EXISTS, String.format(format, args));
  }

  public static BerthException failedPrecondition(String format, Object... args) {
    return new BerthException(ErrorKind.FAILED_PRECONDITION, String.format(format, args));
  }

  public static BerthException resourceExhausted(String format, Object... args) {
    return new BerthException(ErrorKind.RESOURCE_EXHAUSTED, String.format(format, args));
  }

  public static BerthException unavailable(String format, Object... args) {
    return new BerthException(ErrorKind.UNAVAILABLE, String.format(format, args));
  }

  public static BerthException deadlineExceeded(String format, Object... args) {
    return new BerthException(ErrorKind.DEADLINE_EXCEEDED, String.format(format, args));
  }

  public static BerthException cancelled(String format, Object... args) {
    return new BerthException(ErrorKind.CANCELLED, String.format(format, args));
  }

  public static BerthException unauthenticated(String format, Object... args) {
    return new BerthException(ErrorKind.UNAUTHENTICATED, String.format(format, args));
  }

  public static BerthException unimplemented(String format, Object... args) {
    return new BerthException(ErrorKind.UNIMPLEMENTED, String.format(format, args));
  }

  public static BerthException internal(String format, Object... args) {
    return new BerthException(ErrorKind.INTERNAL, String.format(format, args));
  }

  public static BerthException internal(Throwable cause, String format, Object... args) {
    return new BerthException(ErrorKind.INTERNAL, String.format(format, args) + ": " + describe(cause), cause);
  }
}
