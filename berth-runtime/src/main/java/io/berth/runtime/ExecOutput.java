package io.berth.runtime;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * stdout and stderr of an exec, read back from conmon's CRI-format log
 * ({@code <timestamp> <stream> <P|F> <content>}; F ends a line, P is a partial line), keeping at most
 * {@code max} bytes per stream however large the file is.
 */
record ExecOutput(byte[] stdout, byte[] stderr, boolean truncated) {
  /** Longest log line kept while parsing; conmon splits output into chunks well below this. */
  private static final int MAX_LINE = 1 << 20;

  static ExecOutput parse(Path log, long max) throws IOException {
    Sink out = new Sink(max);
    Sink err = new Sink(max);
    try (InputStream in = new BufferedInputStream(Files.newInputStream(log), 1 << 16)) {
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      boolean overlong = false;
      int c;
      while ((c = in.read()) >= 0) {
        if (c != '\n') {
          if (line.size() < MAX_LINE) {
            line.write(c);
          } else {
            overlong = true;
          }
          continue;
        }
        accept(line.toByteArray(), out, err);
        if (overlong) {
          out.truncated = true;
        }
        line.reset();
        overlong = false;
        if (out.full() && err.full()) {
          out.truncated |= in.read() >= 0;
          break;
        }
      }
      if (line.size() > 0) {
        accept(line.toByteArray(), out, err);
      }
    } catch (NoSuchFileException e) {
      // no output at all
    }
    return new ExecOutput(out.data.toByteArray(), err.data.toByteArray(), out.truncated || err.truncated);
  }

  private static void accept(byte[] line, Sink out, Sink err) {
    int a = indexOf(line, 0);
    int b = a < 0 ? -1 : indexOf(line, a + 1);
    if (b < 0 || b + 2 > line.length) {
      return;
    }
    String stream = new String(line, a + 1, b - a - 1, StandardCharsets.US_ASCII);
    boolean full = line[b + 1] == 'F';
    int start = Math.min(line.length, b + 3);
    Sink sink = stream.equals("stderr") ? err : out;
    sink.add(line, start, line.length - start);
    if (full) {
      sink.add(new byte[] {'\n'}, 0, 1);
    }
  }

  private static int indexOf(byte[] line, int from) {
    for (int i = from; i < line.length; i++) {
      if (line[i] == ' ') {
        return i;
      }
    }
    return -1;
  }

  private static final class Sink {
    final long max;
    final ByteArrayOutputStream data = new ByteArrayOutputStream();
    boolean truncated;

    Sink(long max) {
      this.max = max;
    }

    void add(byte[] b, int off, int len) {
      long room = max - data.size();
      if (room >= len) {
        data.write(b, off, len);
      } else {
        if (room > 0) {
          data.write(b, off, (int) room);
        }
        truncated = true;
      }
    }

    boolean full() {
      return data.size() >= max;
    }
  }
}
