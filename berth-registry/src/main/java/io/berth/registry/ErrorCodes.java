package io.berth.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.core.ErrorKind;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Error codes of the OCI distribution spec ("Error Codes" table) and the kind each maps to; Jib's
 * {@code registry/ErrorCodes}. See https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes.
 */
enum ErrorCodes {
  BLOB_UNKNOWN(ErrorKind.NOT_FOUND),
  BLOB_UPLOAD_INVALID(ErrorKind.INVALID_ARGUMENT),
  BLOB_UPLOAD_UNKNOWN(ErrorKind.NOT_FOUND),
  DIGEST_INVALID(ErrorKind.INVALID_ARGUMENT),
  MANIFEST_BLOB_UNKNOWN(ErrorKind.FAILED_PRECONDITION),
  MANIFEST_INVALID(ErrorKind.INVALID_ARGUMENT),
  MANIFEST_UNKNOWN(ErrorKind.NOT_FOUND),
  MANIFEST_UNVERIFIED(ErrorKind.INVALID_ARGUMENT),
  NAME_INVALID(ErrorKind.INVALID_ARGUMENT),
  NAME_UNKNOWN(ErrorKind.NOT_FOUND),
  SIZE_INVALID(ErrorKind.INVALID_ARGUMENT),
  TAG_INVALID(ErrorKind.INVALID_ARGUMENT),
  UNAUTHORIZED(ErrorKind.UNAUTHENTICATED),
  DENIED(ErrorKind.UNAUTHENTICATED),
  UNSUPPORTED(ErrorKind.UNIMPLEMENTED),
  TOOMANYREQUESTS(ErrorKind.UNAVAILABLE);

  private static final ObjectMapper JSON = new ObjectMapper();
  final ErrorKind kind;

  ErrorCodes(ErrorKind kind) {
    this.kind = kind;
  }

  /** One error of a registry error body. */
  record RegistryError(Optional<ErrorCodes> code, String rawCode, String message) {
    @Override
    public String toString() {
      return message == null || message.isBlank() ? rawCode : rawCode + ": " + message;
    }
  }

  /** Parses {@code {"errors":[{"code":..,"message":..}]}}; empty if the body is not that. */
  static List<RegistryError> parse(byte[] body) {
    List<RegistryError> out = new ArrayList<>();
    if (body == null || body.length == 0) {
      return out;
    }
    try {
      JsonNode errors = JSON.readTree(body).path("errors");
      for (JsonNode e : errors) {
        String raw = e.path("code").asText("");
        Optional<ErrorCodes> code;
        try {
          code = Optional.of(ErrorCodes.valueOf(raw));
        } catch (IllegalArgumentException x) {
          code = Optional.empty();
        }
        out.add(new RegistryError(code, raw, e.path("message").asText("")));
      }
    } catch (java.io.IOException | RuntimeException e) {
      // not a JSON error body: callers fall back to the HTTP status
    }
    return out;
  }

  /** The kind for an HTTP status when the body named no known code. */
  static ErrorKind forStatus(int status) {
    return switch (status) {
      case 400 -> ErrorKind.INVALID_ARGUMENT;
      case 401, 403 -> ErrorKind.UNAUTHENTICATED;
      case 404 -> ErrorKind.NOT_FOUND;
      case 405 -> ErrorKind.UNIMPLEMENTED;
      case 416 -> ErrorKind.INVALID_ARGUMENT;
      case 429 -> ErrorKind.UNAVAILABLE;
      default -> status >= 500 ? ErrorKind.UNAVAILABLE : ErrorKind.INTERNAL;
    };
  }

  /** The kind for a failed response: the first known code in the body, else the status. */
  static ErrorKind kindOf(int status, List<RegistryError> errors) {
    return errors.stream().flatMap(e -> e.code().stream()).findFirst().map(c -> c.kind).orElse(forStatus(status));
  }
}
