package io.berth.snapshot;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Sits between the decompressor and Commons Compress and keeps the raw bytes of every {@code SCHILY.xattr.*} PAX
 * record. Commons Compress decodes PAX values as UTF-8 text, which destroys binary values such as
 * {@code security.capability} (Go's archive/tar, and so every image builder, writes them raw); this tap follows the
 * tar headers itself so the applier can restore those values byte for byte.
 *
 * <p>Entries are numbered in archive order, counting only real entries (not PAX, GNU long-name or global headers),
 * which is the order Commons Compress returns them in; it has always read an entry's headers through this stream
 * before it returns the entry. Reads, and skips, must go through {@link #read(byte[], int, int)}.
 */
final class PaxXattrTap extends InputStream {
  static final String XATTR_PREFIX = "SCHILY.xattr.";
  /** A PAX header larger than this is not kept (Commons Compress has its own limits on what it accepts). */
  private static final int MAX_PAX = 1 << 20;
  private static final int BLOCK = 512;

  private final InputStream in;
  private final byte[] header = new byte[BLOCK];
  private int headerFill;
  private long dataLeft; // data bytes of the current entry still to pass, padding included
  private byte[] pax; // collecting the data of a PAX 'x' header, or null
  private int paxFill;
  private long paxSize;
  private Map<String, byte[]> pending = Map.of(); // xattrs and size from the last 'x' header, for the next entry
  private int entries;
  private boolean lost; // a header this tap cannot follow (old GNU sparse): stop, keep what was found so far
  private final Map<Integer, Map<String, byte[]>> xattrs = new HashMap<>();

  PaxXattrTap(InputStream in) {
    this.in = in;
  }

  /** The raw xattr values ({@code name} without the SCHILY prefix) of entry {@code index}, then forgets them. */
  Map<String, byte[]> take(int index) {
    Map<String, byte[]> m = xattrs.remove(index);
    return m == null ? Map.of() : m;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    int n = in.read(b, off, len);
    if (n > 0 && !lost) {
      follow(b, off, n);
    }
    return n;
  }

  @Override
  public int available() throws IOException {
    return in.available();
  }

  @Override
  public void close() throws IOException {
    in.close();
  }

  private void follow(byte[] b, int off, int n) {
    int i = off;
    int end = off + n;
    while (i < end && !lost) {
      if (dataLeft > 0) {
        int take = (int) Math.min(dataLeft, end - i);
        if (pax != null) {
          int keep = (int) Math.min(take, paxSize - paxFill);
          if (keep > 0) {
            System.arraycopy(b, i, pax, paxFill, keep);
            paxFill += keep;
          }
        }
        dataLeft -= take;
        i += take;
        if (dataLeft == 0 && pax != null) {
          pending = parsePax(pax, paxFill);
          pax = null;
        }
        continue;
      }
      int take = Math.min(BLOCK - headerFill, end - i);
      System.arraycopy(b, i, header, headerFill, take);
      headerFill += take;
      i += take;
      if (headerFill == BLOCK) {
        headerFill = 0;
        onHeader();
      }
    }
  }

  private void onHeader() {
    boolean zero = true;
    for (byte x : header) {
      if (x != 0) {
        zero = false;
        break;
      }
    }
    if (zero) {
      return; // end-of-archive blocks
    }
    char type = (char) header[156];
    long size = size();
    if (size < 0) {
      lost = true;
      return;
    }
    switch (type) {
      case 'x' -> {
        paxSize = size;
        paxFill = 0;
        pax = size <= MAX_PAX ? new byte[(int) size] : null;
        if (pax == null) {
          pending = Map.of();
        }
      }
      case 'g', 'L', 'K' -> { }
      case 'S' -> {
        if (header[482] != 0) {
          lost = true; // old GNU sparse with extension headers: not worth following, never seen in images
          return;
        }
        entry();
      }
      default -> {
        byte[] paxSizeValue = pending.get("size");
        if (paxSizeValue != null) {
          try {
            size = Long.parseLong(new String(paxSizeValue, StandardCharsets.US_ASCII).strip());
          } catch (NumberFormatException e) {
            lost = true;
            return;
          }
        }
        entry();
      }
    }
    // Links, devices, dirs and fifos carry no data whatever their size field says (POSIX); everything else does.
    boolean hasData = "123456".indexOf(type) < 0;
    dataLeft = hasData ? (size + BLOCK - 1) / BLOCK * BLOCK : 0;
    if (type == 'x' && dataLeft == 0) {
      pending = Map.of();
      pax = null;
    }
  }

  private void entry() {
    Map<String, byte[]> found = new LinkedHashMap<>();
    pending.forEach((k, v) -> {
      if (k.startsWith(XATTR_PREFIX)) {
        found.put(k.substring(XATTR_PREFIX.length()), v);
      }
    });
    if (!found.isEmpty()) {
      xattrs.put(entries, found);
    }
    entries++;
    pending = Map.of();
  }

  /** The size field: octal text, or base-256 when the first byte's high bit is set; -1 if unreadable. */
  private long size() {
    if ((header[124] & 0x80) != 0) {
      long v = 0;
      for (int i = 125; i < 136; i++) {
        v = (v << 8) | (header[i] & 0xff);
        if (v < 0) {
          return -1;
        }
      }
      return v;
    }
    long v = 0;
    boolean digits = false;
    for (int i = 124; i < 136; i++) {
      byte c = header[i];
      if (c == 0 || c == ' ') {
        if (digits) {
          break;
        }
        continue;
      }
      if (c < '0' || c > '7') {
        return -1;
      }
      digits = true;
      v = v * 8 + (c - '0');
    }
    return v;
  }

  /** PAX records, "LEN key=value\n", values kept as bytes; only xattrs and size are of interest here. */
  static Map<String, byte[]> parsePax(byte[] data, int length) {
    Map<String, byte[]> out = new LinkedHashMap<>();
    int i = 0;
    while (i < length) {
      int sp = i;
      int len = 0;
      while (sp < length && data[sp] >= '0' && data[sp] <= '9' && len < 100_000_000) {
        len = len * 10 + (data[sp] - '0');
        sp++;
      }
      if (sp >= length || data[sp] != ' ' || len <= sp - i || i + len > length || data[i + len - 1] != '\n') {
        break; // malformed: Commons Compress rejects the archive; keep what was read
      }
      int eq = sp + 1;
      while (eq < i + len - 1 && data[eq] != '=') {
        eq++;
      }
      if (eq < i + len - 1) {
        String key = new String(data, sp + 1, eq - sp - 1, StandardCharsets.UTF_8);
        if (key.startsWith(XATTR_PREFIX) || key.equals("size")) {
          byte[] value = new byte[i + len - 1 - (eq + 1)];
          System.arraycopy(data, eq + 1, value, 0, value.length);
          out.put(key, value);
        }
      }
      i += len;
    }
    return out;
  }
}
