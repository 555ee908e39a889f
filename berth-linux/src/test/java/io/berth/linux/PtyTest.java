package io.berth.linux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class PtyTest {
  private static Process onSlave(Pty pty, String script) throws IOException {
    File slave = new File(pty.slavePath());
    return new ProcessBuilder("/bin/sh", "-c", script)
        .redirectInput(slave).redirectOutput(slave).redirectError(slave).start();
  }

  /** Everything the slave side wrote until every holder of the slave closed it. */
  private static String drain(Pty pty) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    InputStream in = pty.input();
    byte[] buf = new byte[1024];
    for (int n; (n = in.read(buf, 0, buf.length)) >= 0; ) {
      out.write(buf, 0, n);
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void resize_beforeChildStarts_childSeesSize() throws Exception {
    try (Pty pty = Pty.open()) {
      assertThat(pty.slavePath()).startsWith("/dev/pts/");
      pty.resize(123, 45);
      Process p = onSlave(pty, "stty size");
      assertThat(drain(pty).strip()).isEqualTo("45 123");
      assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).isZero();
    }
  }

  @Test
  void rawMode_inputPassesThroughOnceWithoutEchoOrTranslation() throws Exception {
    try (Pty pty = Pty.open()) {
      Process p = onSlave(pty, "head -c 6 | od -An -c");
      pty.output().write("ab\rc\nd".getBytes(StandardCharsets.US_ASCII));
      String out = drain(pty);
      assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
      // od shows the six bytes as sent: no echo, \r not turned into \n, \n not into \r\n on output.
      assertThat(out.replaceAll("\\s+", " ").strip()).isEqualTo("a b \\r c \\n d");
    }
  }

  @Test
  void resize_outOfRange_refused() throws Exception {
    try (Pty pty = Pty.open()) {
      assertThatThrownBy(() -> pty.resize(0, 10)).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> pty.resize(10, 70_000)).isInstanceOf(IllegalArgumentException.class);
    }
  }
}
