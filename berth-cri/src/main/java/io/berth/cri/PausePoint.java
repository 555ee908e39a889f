package io.berth.cri;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Named points inside RPCs where a test can crash berthd deterministically. With {@code BERTH_TEST_PAUSE_AT=<point>}
 * in berthd's environment, the first call that reaches {@code <point>} writes the point's name to the file named by
 * {@code BERTH_TEST_PAUSE_MARKER} and blocks until the process dies (the test SIGKILLs it). Without the variable, as
 * in production, {@link #reach} compares a constant with null and returns.
 */
final class PausePoint {
  private static final Logger log = LoggerFactory.getLogger(PausePoint.class);
  private static final String AT = System.getenv("BERTH_TEST_PAUSE_AT");
  private static final String MARKER = System.getenv("BERTH_TEST_PAUSE_MARKER");

  private PausePoint() {}

  static void reach(String point) {
    if (AT != null && AT.equals(point)) {
      pause(point);
    }
  }

  private static void pause(String point) {
    log.warn("test pause point {} reached: blocking until killed", point);
    if (MARKER != null && !MARKER.isEmpty()) {
      try {
        // Written aside and renamed: a test polling for the marker never reads it empty.
        Path marker = Path.of(MARKER);
        Path partial = marker.resolveSibling(marker.getFileName() + ".partial");
        Files.writeString(partial, point + "\n");
        Files.move(partial, marker, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (IOException e) {
        log.error("cannot write the pause marker {}: {}", MARKER, e.toString());
      }
    }
    while (true) {
      try {
        Thread.sleep(60_000);
      } catch (InterruptedException e) {
        // keep blocking: only the process's death ends a pause
      }
    }
  }
}
