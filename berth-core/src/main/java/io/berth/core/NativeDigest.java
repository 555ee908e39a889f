package io.berth.core;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.ref.Cleaner;
import java.security.MessageDigest;
import java.util.Optional;

/**
 * SHA-256 and SHA-512 from the system's OpenSSL (libcrypto.so.3, called through FFM), for the image data berthd
 * hashes by the hundred megabytes. berthd runs with the C1 compiler only (its request paths gain from the
 * lower start-up and CPU cost), and without C2 the JDK's SHA-256 does not get its SHA-NI intrinsic: about ten times
 * slower. OpenSSL uses the CPU's SHA instructions whatever the JIT. Absent libcrypto, {@link #sha2} is empty and
 * the JDK's implementation is used.
 */
final class NativeDigest extends MessageDigest {
  private static final Cleaner CLEANER = Cleaner.create();
  private static final Native LIB = Native.load().orElse(null);

  /** The bound libcrypto functions, or nothing when the library is missing. */
  private record Native(MethodHandle ctxNew, MethodHandle ctxFree, MethodHandle init, MethodHandle updateHeap,
      MethodHandle fin, MemorySegment sha256, MemorySegment sha512) {

    static Optional<Native> load() {
      try {
        SymbolLookup lib = SymbolLookup.libraryLookup("libcrypto.so.3", Arena.global());
        Linker l = Linker.nativeLinker();
        ValueLayout.OfInt i = ValueLayout.JAVA_INT;
        ValueLayout.OfLong j = ValueLayout.JAVA_LONG;
        java.lang.foreign.AddressLayout a = ValueLayout.ADDRESS;
        MethodHandle md256 = l.downcallHandle(lib.findOrThrow("EVP_sha256"), FunctionDescriptor.of(a));
        MethodHandle md512 = l.downcallHandle(lib.findOrThrow("EVP_sha512"), FunctionDescriptor.of(a));
        MemorySegment update = lib.findOrThrow("EVP_DigestUpdate");
        return Optional.of(new Native(
            l.downcallHandle(lib.findOrThrow("EVP_MD_CTX_new"), FunctionDescriptor.of(a)),
            l.downcallHandle(lib.findOrThrow("EVP_MD_CTX_free"), FunctionDescriptor.ofVoid(a)),
            l.downcallHandle(lib.findOrThrow("EVP_DigestInit_ex"), FunctionDescriptor.of(i, a, a, a)),
            // Hashing a Java array in place: short, non-blocking calls, so the heap may be pinned for each.
            l.downcallHandle(update, FunctionDescriptor.of(i, a, a, j), Linker.Option.critical(true)),
            l.downcallHandle(lib.findOrThrow("EVP_DigestFinal_ex"), FunctionDescriptor.of(i, a, a, a),
                Linker.Option.critical(true)),
            (MemorySegment) md256.invokeExact(), (MemorySegment) md512.invokeExact()));
      } catch (Throwable t) {
        return Optional.empty();
      }
    }
  }

  private final MemorySegment md;
  private final MemorySegment ctx;
  private final int length;
  private final byte[] one = new byte[1];

  private NativeDigest(String jdkName, MemorySegment md, int length) {
    super(jdkName);
    this.md = md;
    this.length = length;
    try {
      this.ctx = (MemorySegment) LIB.ctxNew().invokeExact();
    } catch (Throwable t) {
      throw new IllegalStateException("EVP_MD_CTX_new", t);
    }
    if (ctx.equals(MemorySegment.NULL)) {
      throw new OutOfMemoryError("EVP_MD_CTX_new");
    }
    MemorySegment c = ctx;
    CLEANER.register(this, () -> {
      try {
        LIB.ctxFree().invokeExact(c);
      } catch (Throwable t) {
        // nothing to do: the context leaks
      }
    });
    engineReset();
  }

  /** A native digester for {@code sha256} or {@code sha512}, when libcrypto is there. */
  static Optional<MessageDigest> sha2(String algorithm) {
    if (LIB == null) {
      return Optional.empty();
    }
    return switch (algorithm) {
      case "sha256" -> Optional.of(new NativeDigest("SHA-256", LIB.sha256(), 32));
      case "sha512" -> Optional.of(new NativeDigest("SHA-512", LIB.sha512(), 64));
      default -> Optional.empty();
    };
  }

  @Override
  protected int engineGetDigestLength() {
    return length;
  }

  @Override
  protected void engineUpdate(byte input) {
    one[0] = input;
    engineUpdate(one, 0, 1);
  }

  @Override
  protected void engineUpdate(byte[] input, int offset, int len) {
    if (len == 0) {
      return;
    }
    try {
      check("EVP_DigestUpdate", (int) LIB.updateHeap().invokeExact(ctx,
          MemorySegment.ofArray(input).asSlice(offset, len), (long) len));
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  @Override
  protected byte[] engineDigest() {
    byte[] out = new byte[length];
    try {
      check("EVP_DigestFinal_ex", (int) LIB.fin().invokeExact(ctx, MemorySegment.ofArray(out), MemorySegment.NULL));
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
    engineReset();
    return out;
  }

  @Override
  protected void engineReset() {
    try {
      check("EVP_DigestInit_ex", (int) LIB.init().invokeExact(ctx, md, MemorySegment.NULL));
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  private static void check(String call, int rc) {
    if (rc != 1) {
      throw new IllegalStateException(call + " failed");
    }
  }
}
