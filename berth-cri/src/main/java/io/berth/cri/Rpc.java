package io.berth.cri;

import io.berth.core.BerthException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.Callable;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The one place where CRI calls are logged, timed and their errors mapped to gRPC status (the role of containerd's
 * instrumented_service.go). Handlers throw {@link BerthException}; whatever else escapes is a bug: logged once with
 * its stack here and sent to the client as INTERNAL without internals.
 */
final class Rpc {
  private static final Logger log = LoggerFactory.getLogger("cri");

  /** How a method is logged: mutating calls at INFO, polled ones (List, Status) at TRACE. */
  enum Level { INFO, TRACE }

  private final CriMetrics metrics;

  Rpc(CriMetrics metrics) {
    this.metrics = metrics;
  }

  <Q, R> void unary(String method, Level level, Q request, StreamObserver<R> out, Function<Q, String> describe,
      Callable<R> handler) {
    long start = System.nanoTime();
    MDC.put("cri.method", method);
    String what = describe == null ? "" : describe.apply(request);
    try {
      if (level == Level.INFO) {
        log.info("{} {}", method, what);
      } else if (log.isTraceEnabled()) {
        log.trace("{} {}", method, what);
      }
      R response = handler.call();
      metrics.observe(method, "OK", System.nanoTime() - start);
      if (level == Level.INFO) {
        log.info("{} {} done in {} ms", method, what, (System.nanoTime() - start) / 1_000_000);
      }
      out.onNext(response);
      out.onCompleted();
    } catch (Throwable t) {
      Status status = toStatus(t);
      metrics.observe(method, status.getCode().name(), System.nanoTime() - start);
      if (status.getCode() == Status.Code.INTERNAL) {
        log.error("{} {} failed", method, what, t);
      } else if (level == Level.INFO || status.getCode() != Status.Code.NOT_FOUND) {
        log.warn("{} {} failed: {} {}", method, what, status.getCode(), status.getDescription());
      }
      out.onError(status.asRuntimeException());
    } finally {
      MDC.clear();
    }
  }

  /**
   * A server-streaming List variant (polled, so logged at TRACE): the handler sends its messages through the
   * consumer; the stream is completed after it returns, or ends with the mapped status if it throws.
   */
  <Q, R> void stream(String method, Q request, StreamObserver<R> out, java.util.function.Consumer<
      java.util.function.Consumer<R>> handler) {
    long start = System.nanoTime();
    MDC.put("cri.method", method);
    try {
      if (log.isTraceEnabled()) {
        log.trace("{}", method);
      }
      handler.accept(out::onNext);
      metrics.observe(method, "OK", System.nanoTime() - start);
      out.onCompleted();
    } catch (Throwable t) {
      Status status = toStatus(t);
      metrics.observe(method, status.getCode().name(), System.nanoTime() - start);
      if (status.getCode() == Status.Code.INTERNAL) {
        log.error("{} failed", method, t);
      } else {
        log.warn("{} failed: {} {}", method, status.getCode(), status.getDescription());
      }
      try {
        out.onError(status.asRuntimeException());
      } catch (RuntimeException e) {
        // the client went away meanwhile
      }
    } finally {
      MDC.clear();
    }
  }

  static Status toStatus(Throwable t) {
    return switch (t) {
      case BerthException e ->
          Status.fromCode(Status.Code.valueOf(e.kind().name())).withDescription(e.getMessage());
      case StatusRuntimeException e -> e.getStatus();
      case IllegalArgumentException e -> Status.INVALID_ARGUMENT.withDescription(e.getMessage());
      default -> Status.INTERNAL.withDescription(
          "internal error, see berthd log: " + t.getClass().getSimpleName());
    };
  }
}
