package io.berth.streaming;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * A small SPDY/3.1 client following client-go's remotecommand/portforward usage, written apart from the server
 * (only the dictionary is shared). {@code flowControl} makes it announce SETTINGS and send WINDOW_UPDATEs, checking
 * that the server never exceeds the window; without it, it behaves like moby/spdystream (no flow control at all).
 */
public final class SpdyTestClient implements AutoCloseable {
  public static final int WINDOW = 65536;

  public final int status;
  public final Map<String, String> responseHeaders = new LinkedHashMap<>();
  public final String responseBody;
  private final Socket socket;
  private final DataInputStream in;
  private final DataOutputStream out;
  private final boolean flowControl;
  private final Deflater deflater = new Deflater();
  private final Inflater inflater = new Inflater();
  private final Map<Integer, Stream> streams = new ConcurrentHashMap<>();
  private int nextId = 1;
  private Thread reader;
  public volatile boolean goAway;
  public volatile boolean eof;
  public volatile String protocolViolation;

  public final class Stream {
    public final int id;
    public final ByteArrayOutputStream data = new ByteArrayOutputStream();
    public boolean replied;
    public boolean fin;
    public boolean reset;
    public int unacked;
    public int sendWindow = WINDOW;

    public Stream(int id) {
      this.id = id;
    }

    public void write(byte[] b) throws IOException {
      for (int off = 0; off < b.length; ) {
        int n = Math.min(8192, b.length - off);
        if (flowControl) {
          n = takeWindow(this, n);
        }
        synchronized (out) {
          out.writeInt(id);
          out.writeInt(n);
          out.write(b, off, n);
          out.flush();
        }
        off += n;
      }
    }

    public void write(String s) throws IOException {
      write(s.getBytes(StandardCharsets.UTF_8));
    }

    public void closeWrite() throws IOException {
      synchronized (out) {
        out.writeInt(id);
        out.writeInt(0x01000000);
        out.flush();
      }
    }

    public void rst() throws IOException {
      byte[] p = new byte[8];
      java.nio.ByteBuffer.wrap(p).putInt(id).putInt(5);
      control(3, 0, p);
    }

    /** Waits for the server's FIN (or RST, or the end of the connection) and returns everything received. */
    public String readAll() throws InterruptedException {
      synchronized (SpdyTestClient.this) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!fin && !reset && !eof) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            throw new AssertionError("stream " + id + " not finished; got " + data.size() + " bytes");
          }
          TimeUnit.NANOSECONDS.timedWait(SpdyTestClient.this, left);
        }
        return data.toString(StandardCharsets.UTF_8);
      }
    }

    public int size() {
      synchronized (SpdyTestClient.this) {
        return data.size();
      }
    }

    /** Waits until the received text contains {@code s}. */
    public void await(String s) throws InterruptedException {
      synchronized (SpdyTestClient.this) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!data.toString(StandardCharsets.UTF_8).contains(s)) {
          long left = deadline - System.nanoTime();
          if (left <= 0 || fin || reset || eof) {
            throw new AssertionError("stream " + id + " never got '" + s + "'; got '" + data + "'");
          }
          TimeUnit.NANOSECONDS.timedWait(SpdyTestClient.this, left);
        }
      }
    }
  }

  private int sessionSendWindow = WINDOW;

  /** Waits for send window on the stream and the session (the server grants it with WINDOW_UPDATE). */
  private synchronized int takeWindow(Stream st, int wanted) throws IOException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (st.sendWindow <= 0 || sessionSendWindow <= 0) {
      long left = deadline - System.nanoTime();
      if (left <= 0 || eof || st.reset) {
        throw new IOException("no send window from the server on stream " + st.id);
      }
      try {
        TimeUnit.NANOSECONDS.timedWait(this, left);
      } catch (InterruptedException e) {
        throw new IOException(e);
      }
    }
    int n = Math.min(wanted, Math.min(st.sendWindow, sessionSendWindow));
    st.sendWindow -= n;
    sessionSendWindow -= n;
    return n;
  }

  private SpdyTestClient(Socket socket, boolean flowControl, int status, String body) throws IOException {
    this.socket = socket;
    this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
    this.out = new DataOutputStream(socket.getOutputStream());
    this.flowControl = flowControl;
    this.status = status;
    this.responseBody = body;
    deflater.setDictionary(SpdyDictionary.bytes());
  }

  /** Sends the upgrade request; returns a client whose status is the HTTP status (101 on success). */
  public static SpdyTestClient connect(String url, boolean flowControl, String... protocols) throws IOException {
    return connectWithUpgrade(url, flowControl, "SPDY/3.1", protocols);
  }

  public static SpdyTestClient connectWithUpgrade(String url, boolean flowControl, String upgrade, String... protocols)
      throws IOException {
    java.net.URI u = java.net.URI.create(url);
    Socket s = new Socket(u.getHost(), u.getPort());
    s.setSoTimeout(30_000);
    StringBuilder req = new StringBuilder("POST " + u.getRawPath() + " HTTP/1.1\r\nHost: " + u.getHost() + ":"
        + u.getPort() + "\r\nConnection: Upgrade\r\nUpgrade: " + upgrade + "\r\n");
    for (String p : protocols) {
      req.append("X-Stream-Protocol-Version: ").append(p).append("\r\n");
    }
    req.append("Content-Length: 0\r\n\r\n");
    s.getOutputStream().write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
    InputStream raw = s.getInputStream();
    // read the head byte by byte so no SPDY frame is swallowed
    String statusLine = line(raw);
    int code = Integer.parseInt(statusLine.split(" ")[1]);
    Map<String, String> headers = new LinkedHashMap<>();
    for (String l = line(raw); !l.isEmpty(); l = line(raw)) {
      int c = l.indexOf(':');
      headers.put(l.substring(0, c).trim().toLowerCase(), l.substring(c + 1).trim());
    }
    String body = "";
    if (code != 101) {
      body = new String(raw.readAllBytes(), StandardCharsets.UTF_8);
    }
    SpdyTestClient c = new SpdyTestClient(s, flowControl, code, body);
    c.responseHeaders.putAll(headers);
    if (code == 101) {
      c.start();
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

  private void start() throws IOException {
    if (flowControl) {
      byte[] p = new byte[12];
      java.nio.ByteBuffer.wrap(p).putInt(1).putInt(7).putInt(WINDOW); // INITIAL_WINDOW_SIZE
      control(4, 0, p);
    }
    reader = Thread.ofVirtual().start(this::readLoop);
  }

  /** Opens a stream and waits for its SYN_REPLY (client-go's CreateStream does the same). */
  public Stream open(Map<String, String> headers) throws IOException, InterruptedException {
    Stream st;
    synchronized (this) {
      st = new Stream(nextId);
      nextId += 2;
      streams.put(st.id, st);
    }
    ByteArrayOutputStream block = new ByteArrayOutputStream();
    DataOutputStream d = new DataOutputStream(block);
    d.writeInt(headers.size());
    for (var e : headers.entrySet()) {
      byte[] k = e.getKey().toLowerCase().getBytes(StandardCharsets.UTF_8);
      byte[] v = e.getValue().getBytes(StandardCharsets.UTF_8);
      d.writeInt(k.length);
      d.write(k);
      d.writeInt(v.length);
      d.write(v);
    }
    synchronized (out) {
      byte[] compressed = deflate(block.toByteArray());
      ByteArrayOutputStream p = new ByteArrayOutputStream();
      DataOutputStream pd = new DataOutputStream(p);
      pd.writeInt(st.id);
      pd.writeInt(0);
      pd.writeShort(0);
      pd.write(compressed);
      control(1, 0, p.toByteArray());
    }
    synchronized (this) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (!st.replied && !st.reset && !eof) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError("no SYN_REPLY for stream " + st.id);
        }
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
    }
    return st;
  }

  public Stream open(String... kv) throws IOException, InterruptedException {
    Map<String, String> h = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      h.put(kv[i], kv[i + 1]);
    }
    return open(h);
  }

  private byte[] deflate(byte[] raw) {
    deflater.setInput(raw);
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    byte[] buf = new byte[4096];
    int n;
    do {
      n = deflater.deflate(buf, 0, buf.length, Deflater.SYNC_FLUSH);
      o.write(buf, 0, n);
    } while (n == buf.length);
    return o.toByteArray();
  }

  public void control(int type, int flags, byte[] payload) throws IOException {
    synchronized (out) {
      out.writeShort(0x8003);
      out.writeShort(type);
      out.writeInt((flags << 24) | payload.length);
      out.write(payload);
      out.flush();
    }
  }

  private void readLoop() {
    try {
      while (true) {
        int w1 = in.readInt();
        int w2 = in.readInt();
        int flags = w2 >>> 24;
        int len = w2 & 0xffffff;
        byte[] p = new byte[len];
        in.readFully(p);
        if (w1 < 0) {
          onControl(w1 & 0xffff, flags, p);
        } else {
          onData(w1, flags, p);
        }
      }
    } catch (IOException e) {
      synchronized (this) {
        eof = true;
        notifyAll();
      }
    }
  }

  private void onControl(int type, int flags, byte[] p) throws IOException {
    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(p);
    switch (type) {
      case 2 -> { // SYN_REPLY
        int id = b.getInt() & 0x7fffffff;
        inflate(p, 4);
        synchronized (this) {
          Stream s = streams.get(id);
          if (s != null) {
            s.replied = true;
            if ((flags & 1) != 0) {
              s.fin = true;
            }
          }
          notifyAll();
        }
      }
      case 3 -> { // RST_STREAM
        int id = b.getInt() & 0x7fffffff;
        synchronized (this) {
          Stream s = streams.get(id);
          if (s != null) {
            s.reset = true;
          }
          notifyAll();
        }
      }
      case 6 -> control(6, 0, p); // echo pings
      case 9 -> { // WINDOW_UPDATE
        int id = b.getInt() & 0x7fffffff;
        int delta = b.getInt() & 0x7fffffff;
        synchronized (this) {
          if (id == 0) {
            sessionSendWindow += delta;
          } else if (streams.get(id) != null) {
            streams.get(id).sendWindow += delta;
          }
          notifyAll();
        }
      }
      case 7 -> {
        synchronized (this) {
          goAway = true;
          notifyAll();
        }
      }
      default -> { }
    }
  }

  private void inflate(byte[] p, int off) throws IOException {
    try {
      inflater.setInput(p, off, p.length - off);
      byte[] buf = new byte[4096];
      while (true) {
        int n = inflater.inflate(buf);
        if (n == 0 && inflater.needsDictionary()) {
          inflater.setDictionary(SpdyDictionary.bytes());
        } else if (n == 0) {
          return;
        }
      }
    } catch (java.util.zip.DataFormatException e) {
      throw new IOException(e);
    }
  }

  private void onData(int id, int flags, byte[] p) throws IOException {
    int ack = 0;
    synchronized (this) {
      Stream s = streams.get(id);
      if (s == null) {
        return;
      }
      if (s.fin) {
        protocolViolation = "data after FIN on stream " + id;
      }
      s.data.write(p, 0, p.length);
      if (flowControl) {
        s.unacked += p.length;
        if (s.unacked > WINDOW) {
          protocolViolation = "server exceeded the window on stream " + id + ": " + s.unacked;
        }
        if (s.unacked >= WINDOW / 2) {
          ack = s.unacked;
          s.unacked = 0;
        }
      }
      if ((flags & 1) != 0) {
        s.fin = true;
      }
      notifyAll();
    }
    if (ack > 0) {
      byte[] u = new byte[8];
      java.nio.ByteBuffer.wrap(u).putInt(id).putInt(ack);
      control(9, 0, u);
      java.nio.ByteBuffer.wrap(u).putInt(0).putInt(ack);
      control(9, 0, u);
    }
  }

  /** Waits until the server has closed the TCP connection. */
  public void awaitEof() throws InterruptedException {
    synchronized (this) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (!eof) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError("server never closed the connection");
        }
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
    }
  }

  /** Drops the TCP connection without any SPDY goodbye, as a vanished client does. */
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
    deflater.end();
    inflater.end();
  }

  public static List<String> list(String... s) {
    return new ArrayList<>(List.of(s));
  }
}
