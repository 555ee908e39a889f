package io.berth.linux;

import io.berth.core.BerthException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Allocated bytes of a tree, hard links once, not crossing mount points. Java's file attributes lack st_blocks, so
 * this asks coreutils {@code du}, which reads exactly that.
 */
public final class DiskUsage {
  private DiskUsage() {}

  public static long of(Path dir) {
    ProcessBuilder pb = new ProcessBuilder("du", "-s", "-x", "-B1", dir.toString()).redirectErrorStream(false);
    try {
      Process p = pb.start();
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      int rc = p.waitFor();
      String first = out.strip().split("\\s+")[0];
      if (rc != 0 || first.isEmpty()) {
        throw BerthException.internal("du %s failed (exit %d): %s", dir, rc, err.strip());
      }
      return Long.parseLong(first);
    } catch (IOException | NumberFormatException e) {
      throw BerthException.internal(e, "disk usage of %s", dir);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw BerthException.cancelled("disk usage of %s interrupted", dir);
    }
  }
}
