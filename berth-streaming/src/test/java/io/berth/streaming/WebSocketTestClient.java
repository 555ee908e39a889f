package io.berth.streaming;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A small RFC 6455 client speaking Kubernetes channel messages, written apart from the server: masked frames out,
 * per-channel byte logs in (the channel byte stripped; base64 decoded for the base64 subprotocols).
 */
public final class WebSocketTestClient implements AutoCloseable {
  public final int status;
  public final Map<String, String> responseHeaders = new LinkedHashMap<>();
  public final String responseBody;
  private final Socket socket;
  private final OutputStream out;
  private final DataInputStream in;
  private final boolean base64;
  private final Map<Integer, ByteArrayOutputStream> channels = new LinkedHashMap<>();
  private final Map<Integer, Integer> messageCounts = new LinkedHashMap<>();
  private final SecureRandom random = new SecureRandom();
  private Thread reader;
  public volatile boolean closeReceived;
  public volatile boolean eof;

  private WebSocketTestClient(Socket socket, InputStream in, int status, String body, boolean base64)
      throws IOException {
    this.socket = socket;
    this.out = socket.getOutputStream();
    this.in = new DataInputStream(in);
    this.status = status;
    this.responseBody = body;
    this.base64 = base64;
  }

  public static WebSocketTestClient connect(String url, String... protocols) throws Exception {
    java.net.URI u = java.net.URI.create(url);
    Socket s = new Socket(u.getHost(), u.getPort());
    s.setSoTimeout(30_000);
    byte[] nonce = new byte[16];
    new SecureRandom().nextBytes(nonce);
    String key = Base64.getEncoder().encodeToString(nonce);
    StringBuilder req = new StringBuilder("GET " + u.getRawPath() + (u.getRawQuery() == null ? "" : "?"
        + u.getRawQuery()) + " HTTP/1.1\r\nHost: " + u.getHost() + ":" + u.getPort()
        + "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key
        + "\r\n");
    if (protocols.length > 0) {
      req.append("Sec-WebSocket-Protocol: ").append(String.join(", ", protocols)).append("\r\n");
    }
    req.append("\r\n");
    s.getOutputStream().write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
    InputStream raw = new BufferedInputStream(s.getInputStream());
    String statusLine = line(raw);
    int code = Integer.parseInt(statusLine.split(" ")[1]);
    Map<String, String> headers = new LinkedHashMap<>();
    for (String l = line(raw); !l.isEmpty(); l = line(raw)) {
      int c = l.indexOf(':');
      headers.put(l.substring(0, c).trim().toLowerCase(), l.substring(c + 1).trim());
    }
    String body = code == 101 ? "" : new String(raw.readAllBytes(), StandardCharsets.UTF_8);
    String protocol = headers.getOrDefault("sec-websocket-protocol", "");
    WebSocketTestClient c = new WebSocketTestClient(s, raw, code, body, protocol.contains("base64"));
    c.responseHeaders.putAll(headers);
    if (code == 101) {
      String expect = Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1").digest(
          (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").getBytes(StandardCharsets.ISO_8859_1)));
      if (!expect.equals(headers.get("sec-websocket-accept"))) {
        throw new AssertionError("bad Sec-WebSocket-Accept");
      }
      c.reader = Thread.ofVirtual().start(c::readLoop);
    } else {
      s.close();
    }
    return c;
  }

  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (int c = in.read(); c != '\n'; c = in.read()) {
      if (c < 0) {
        throw new IOException("eof in response head");
      }
      if (c != '\r') {
        b.write(c);
      }
    }
    return b.toString(StandardCharsets.ISO_8859_1);
  }

  public void send(int channel, byte[] data) throws IOException {
    byte[] payload;
    int op;
    if (base64) {
      payload = ((char) ('0' + channel) + Base64.getEncoder().encodeToString(data))
          .getBytes(StandardCharsets.ISO_8859_1);
      op = 1;
    } else {
      payload = new byte[data.length + 1];
      payload[0] = (byte) channel;
      System.arraycopy(data, 0, payload, 1, data.length);
      op = 2;
    }
    frame(op, payload);
  }

  public void send(int channel, String s) throws IOException {
    send(channel, s.getBytes(StandardCharsets.UTF_8));
  }

  public synchronized void frame(int op, byte[] payload) throws IOException {
    ByteArrayOutputStream f = new ByteArrayOutputStream();
    f.write(0x80 | op);
    if (payload.length < 126) {
      f.write(0x80 | payload.length);
    } else if (payload.length < 65536) {
      f.write(0x80 | 126);
      f.write(payload.length >>> 8);
      f.write(payload.length);
    } else {
      f.write(0x80 | 127);
      for (int i = 7; i >= 0; i--) {
        f.write((int) ((long) payload.length >>> (8 * i)));
      }
    }
    byte[] mask = new byte[4];
    random.nextBytes(mask);
    f.write(mask);
    for (int i = 0; i < payload.length; i++) {
      f.write(payload[i] ^ mask[i & 3]);
    }
    out.write(f.toByteArray());
    out.flush();
  }

  private void readLoop() {
    try {
      while (true) {
        int b0 = in.readUnsignedByte();
        int b1 = in.readUnsignedByte();
        if ((b1 & 0x80) != 0) {
          throw new IOException("server frames must not be masked");
        }
        long len = b1 & 0x7f;
        if (len == 126) {
          len = in.readUnsignedShort();
        } else if (len == 127) {
          len = in.readLong();
        }
        byte[] p = new byte[(int) len];
        in.readFully(p);
        int op = b0 & 0x0f;
        if (op == 8) {
          synchronized (this) {
            closeReceived = true;
            notifyAll();
          }
          continue;
        }
        if (op == 1 || op == 2) {
          if (p.length == 0) {
            continue;
          }
          int ch;
          byte[] data;
          if (base64) {
            ch = p[0] - '0';
            data = Base64.getDecoder().decode(new String(p, 1, p.length - 1, StandardCharsets.ISO_8859_1));
          } else {
            ch = p[0] & 0xff;
            data = java.util.Arrays.copyOfRange(p, 1, p.length);
          }
          synchronized (this) {
            channels.computeIfAbsent(ch, k -> new ByteArrayOutputStream()).write(data);
            messageCounts.merge(ch, 1, Integer::sum);
            notifyAll();
          }
        }
      }
    } catch (IOException e) {
      synchronized (this) {
        eof = true;
        notifyAll();
      }
    }
  }

  public synchronized String channel(int ch) {
    ByteArrayOutputStream b = channels.get(ch);
    return b == null ? "" : b.toString(StandardCharsets.UTF_8);
  }

  public synchronized byte[] channelBytes(int ch) {
    ByteArrayOutputStream b = channels.get(ch);
    return b == null ? new byte[0] : b.toByteArray();
  }

  public synchronized int messages(int ch) {
    return messageCounts.getOrDefault(ch, 0);
  }

  /** Waits until channel {@code ch} holds at least {@code n} bytes. */
  public synchronized void awaitBytes(int ch, int n) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (channelBytes(ch).length < n) {
      long left = deadline - System.nanoTime();
      if (left <= 0 || eof) {
        throw new AssertionError("channel " + ch + " never got " + n + " bytes: " + channel(ch));
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
  }

  public synchronized void await(int ch, String s) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!channel(ch).contains(s)) {
      long left = deadline - System.nanoTime();
      if (left <= 0 || eof) {
        throw new AssertionError("channel " + ch + " never got '" + s + "': '" + channel(ch) + "'");
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
  }

  /** Waits for the server's close frame and the end of the TCP stream. */
  public synchronized void awaitClosed() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!eof) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError("server never closed");
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
  }

  public void abort() throws IOException {
    socket.setSoLinger(true, 0);
    socket.close();
  }

  @Override
  public void close() throws IOException {
    socket.close();
    if (reader != null) {
      try {
        reader.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
