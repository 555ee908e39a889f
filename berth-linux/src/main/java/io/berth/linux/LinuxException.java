package io.berth.linux;

import io.berth.core.BerthException;
import io.berth.core.ErrorKind;

/** A failed system call, with its errno. ENOSPC maps to RESOURCE_EXHAUSTED, everything else to INTERNAL. */
public final class LinuxException extends BerthException {
  public static final int EPERM = 1;
  public static final int ENOENT = 2;
  public static final int EEXIST = 17;
  public static final int EINVAL = 22;
  public static final int ENOSPC = 28;
  public static final int EBUSY = 16;

  private final int errno;

  public LinuxException(String call, String arg, int errno) {
    super(errno == ENOSPC ? ErrorKind.RESOURCE_EXHAUSTED : ErrorKind.INTERNAL,
        call + "(" + arg + "): " + Errno.describe(errno));
    this.errno = errno;
  }

  public int errno() {
    return errno;
  }
}
