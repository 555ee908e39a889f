package io.berth.core;

/**
 * What went wrong, independent of transport. The CRI layer maps each kind to the gRPC status code of the same name,
 * in one place, so modules never depend on gRPC.
 */
public enum ErrorKind {
  INVALID_ARGUMENT,
  NOT_FOUND,
  ALREADY_EXISTS,
  FAILED_PRECONDITION,
  RESOURCE_EXHAUSTED,
  UNAVAILABLE,
  DEADLINE_EXCEEDED,
  CANCELLED,
  UNAUTHENTICATED,
  PERMISSION_DENIED,
  UNIMPLEMENTED,
  INTERNAL
}
