package io.berth.linux;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/** What the libc bindings of this package share: the linker, errno captured per call, binding a symbol by name. */
final class Libc {
  static final Linker LINKER = Linker.nativeLinker();
  /** Allocate one per call and pass it first: the downcall stores the callee's errno in it. */
  static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

  private Libc() {}

  /** A downcall to libc's {@code name} that captures errno. */
  static MethodHandle bind(String name, FunctionDescriptor fd, Linker.Option... more) {
    MemorySegment sym = LINKER.defaultLookup().find(name)
        .orElseThrow(() -> new UnsatisfiedLinkError("libc lacks " + name));
    Linker.Option[] options = java.util.Arrays.copyOf(more, more.length + 1);
    options[more.length] = Linker.Option.captureCallState("errno");
    return LINKER.downcallHandle(sym, fd, options);
  }

  /** A downcall to libc's {@code name} that leaves errno alone (for functions that return their error). */
  static MethodHandle bindPlain(String name, FunctionDescriptor fd) {
    MemorySegment sym = LINKER.defaultLookup().find(name)
        .orElseThrow(() -> new UnsatisfiedLinkError("libc lacks " + name));
    return LINKER.downcallHandle(sym, fd);
  }

  /** What a downcall's {@code invokeExact} threw, as an unchecked exception to throw (errors are thrown here). */
  static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException r) {
      return r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    return new IllegalStateException(t);
  }

  /** The errno a call left in {@code state}. */
  static int errno(MemorySegment state) {
    return (int) ERRNO.get(state, 0L);
  }
}
