package io.berth.linux;

/** Names for the errno values Berth reports. */
final class Errno {
  private Errno() {}

  static String describe(int errno) {
    String name = switch (errno) {
      case 1 -> "EPERM operation not permitted";
      case 2 -> "ENOENT no such file or directory";
      case 3 -> "ESRCH no such process";
      case 5 -> "EIO input/output error";
      case 9 -> "EBADF bad file descriptor";
      case 13 -> "EACCES permission denied";
      case 16 -> "EBUSY device or resource busy";
      case 17 -> "EEXIST file exists";
      case 20 -> "ENOTDIR not a directory";
      case 21 -> "EISDIR is a directory";
      case 22 -> "EINVAL invalid argument";
      case 28 -> "ENOSPC no space left on device";
      case 30 -> "EROFS read-only file system";
      case 61 -> "ENODATA no data available";
      case 95 -> "EOPNOTSUPP operation not supported";
      default -> "errno";
    };
    return name + " (" + errno + ")";
  }
}
