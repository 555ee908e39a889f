package io.berth.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PaxXattrTapTest {
  private static byte[] records(byte[]... parts) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  /** One "LEN key=value\n" record with a binary value; LEN counts itself. */
  private static byte[] record(String key, byte[] value) {
    int body = 1 + key.length() + 1 + value.length + 1;
    int len = body + Integer.toString(body).length();
    if (Integer.toString(len).length() != Integer.toString(body).length()) {
      len++;
    }
    return records((len + " " + key + "=").getBytes(StandardCharsets.US_ASCII), value, new byte[] {'\n'});
  }

  @Test
  void parsePax_binaryValueWithNewlineAndNul_keptByteForByte() {
    byte[] cap = {1, 0, 0, 2, '\n', 0x20, 0, (byte) 0xff};
    byte[] data = records(record("path", "x".getBytes()), record("SCHILY.xattr.security.capability", cap),
        record("size", "12".getBytes()), record("mtime", "1.5".getBytes()));
    Map<String, byte[]> m = PaxXattrTap.parsePax(data, data.length);
    assertThat(m).containsOnlyKeys("SCHILY.xattr.security.capability", "size");
    assertThat(m.get("SCHILY.xattr.security.capability")).isEqualTo(cap);
    assertThat(new String(m.get("size"), StandardCharsets.US_ASCII)).isEqualTo("12");
  }

  @Test
  void parsePax_malformedLength_stopsWithWhatWasRead() {
    byte[] data = records(record("SCHILY.xattr.user.a", "1".getBytes()), "999 SCHILY.xattr.user.b=2\n".getBytes());
    assertThat(PaxXattrTap.parsePax(data, data.length)).containsOnlyKeys("SCHILY.xattr.user.a");
  }
}
