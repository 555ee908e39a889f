package io.berth.streaming;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of one SPDY/3.1 session on an upgraded HTTP connection
 * (<a href="https://www.chromium.org/spdy/spdy-protocol/spdy-protocol-draft3-1/">SPDY/3.1 draft</a>): frame codec,
 * zlib header compression with the SPDY/3 dictionary (one context per direction), client-initiated streams, and
 * per-stream plus session flow control.
 *
 * <p>Flow control: the server returns receive credit with WINDOW_UPDATE as backends consume. On the send side it
 * honours the peer's windows once the peer shows that it does flow control (a SETTINGS or WINDOW_UPDATE frame).
 * The Go framer used by client-go and the kubelet (moby/spdystream) never sends WINDOW_UPDATE and ignores
 * windows; when a window runs dry and the peer has not shown flow control within {@link #FLOW_CONTROL_GRACE}, the
 * server concludes it talks to such a peer and stops enforcing windows for the session, as Go peers do.
 *
 * <p>{@link #serve()} runs the reader loop on the calling thread; writes happen on any thread under one lock.
 */
final class SpdyConnection {
  private static final Logger log = LoggerFactory.getLogger(SpdyConnection.class);

  static final int VERSION = 3;
  static final int TYPE_SYN_STREAM = 1;
  static final int TYPE_SYN_REPLY = 2;
  static final int TYPE_RST_STREAM = 3;
  static final int TYPE_SETTINGS = 4;
  static final int TYPE_PING = 6;
  static final int TYPE_GOAWAY = 7;
  static final int TYPE_HEADERS = 8;
  static final int TYPE_WINDOW_UPDATE = 9;
  static final int FLAG_FIN = 0x01;
  static final int FLAG_UNIDIRECTIONAL = 0x02;
  static final int RST_PROTOCOL_ERROR = 1;
  static final int RST_INVALID_STREAM = 2;
  static final int RST_REFUSED_STREAM = 3;
  static final int RST_CANCEL = 5;
  static final int RST_FLOW_CONTROL_ERROR = 7;
  static final int RST_STREAM_ALREADY_CLOSED = 9;
  static final int SETTINGS_INITIAL_WINDOW_SIZE = 7;
  static final int DEFAULT_WINDOW = 65536;
  static final int MAX_SEND_CHUNK = 16384;
  static final int MAX_CONTROL_FRAME = 1 << 20;
  static final int MAX_HEADER_BLOCK = 1 << 18;
  static final int MAX_STREAMS = 1000;
  static final Duration FLOW_CONTROL_GRACE = Duration.ofSeconds(1);

  /** Decides about streams the client opens; both methods run on the reader thread and must not block. */
  interface StreamHandler {
    /** Returns why the stream is refused, or empty to accept it. */
    Optional<String> check(SpdyStream stream);

    /** The stream was accepted and its SYN_REPLY sent. */
    void accepted(SpdyStream stream);
  }

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;
  private final StreamHandler handler;
  private final long idleNanos;
  private final ScheduledExecutorService scheduler;
  private final Map<Integer, SpdyStream> streams = new ConcurrentHashMap<>();
  private final List<Runnable> closeListeners = new CopyOnWriteArrayList<>();
  private final Inflater inflater = new Inflater();

  private final ReentrantLock writeLock = new ReentrantLock();
  private final Deflater deflater; // guarded by writeLock

  private final ReentrantLock flowLock = new ReentrantLock();
  private final Condition windowChanged = flowLock.newCondition();
  private int sessionSendWindow = DEFAULT_WINDOW;      // guarded by flowLock
  private int initialSendWindow = DEFAULT_WINDOW;      // guarded by flowLock
  private boolean peerFlowControl;                     // guarded by flowLock
  private boolean peerIgnoresFlowControl;              // guarded by flowLock
  private int sessionUnacked;                          // guarded by flowLock

  private volatile long lastActivity = System.nanoTime();
  private volatile boolean closed;
  private volatile boolean goneAway;
  private int lastStreamId;                            // reader thread only

  SpdyConnection(Socket socket, InputStream in, OutputStream out, StreamHandler handler, Duration idleTimeout,
      ScheduledExecutorService scheduler) {
    this.socket = socket;
    this.in = in;
    this.out = out;
    this.handler = handler;
    this.idleNanos = idleTimeout.toNanos();
    this.scheduler = scheduler;
    this.deflater = new Deflater(Deflater.DEFAULT_COMPRESSION);
    this.deflater.setDictionary(SpdyDictionary.bytes());
  }

  int recvWindow() {
    return DEFAULT_WINDOW;
  }

  boolean isClosed() {
    return closed;
  }

  /** Runs {@code r} once the connection is gone (at once if it already is). */
  void onClose(Runnable r) {
    closeListeners.add(r);
    if (closed && closeListeners.remove(r)) {
      r.run();
    }
  }

  /** Reads frames until the peer goes away, the idle timeout passes or {@link #terminate()} is called. */
  void serve() {
    try {
      socket.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(idleNanos))));
      byte[] head = new byte[8];
      while (!closed) {
        readFully(head, 8);
        int flags = head[4] & 0xff;
        int length = ((head[5] & 0xff) << 16) | ((head[6] & 0xff) << 8) | (head[7] & 0xff);
        if ((head[0] & 0x80) != 0) {
          int version = ((head[0] & 0x7f) << 8) | (head[1] & 0xff);
          int type = ((head[2] & 0xff) << 8) | (head[3] & 0xff);
          if (version != VERSION) {
            throw new ProtocolException("unsupported SPDY version " + version);
          }
          if (length > MAX_CONTROL_FRAME) {
            throw new ProtocolException("control frame too large: " + length);
          }
          byte[] payload = new byte[length];
          readFully(payload, length);
          onControlFrame(type, flags, payload);
        } else {
          int streamId = int31(head, 0);
          onDataFrame(streamId, flags, length);
        }
      }
    } catch (ProtocolException e) {
      log.debug("SPDY protocol error from {}: {}", socket.getRemoteSocketAddress(), e.getMessage());
      sendGoAway(1);
    } catch (IOException e) {
      log.debug("SPDY connection from {} ended: {}", socket.getRemoteSocketAddress(), e.toString());
    } catch (RuntimeException e) {
      log.warn("SPDY connection from {} failed", socket.getRemoteSocketAddress(), e);
    } finally {
      terminate();
    }
  }

  private void readFully(byte[] b, int len) throws IOException {
    int done = 0;
    while (done < len) {
      int n;
      try {
        n = in.read(b, done, len - done);
      } catch (SocketTimeoutException e) {
        if (System.nanoTime() - lastActivity >= idleNanos) {
          throw new InterruptedIOException("idle timeout");
        }
        continue;
      }
      if (n < 0) {
        throw new EOFException("peer closed the connection");
      }
      done += n;
      lastActivity = System.nanoTime();
    }
  }

  private void onDataFrame(int streamId, int flags, int length) throws IOException {
    SpdyStream s = streams.get(streamId);
    byte[] chunk = new byte[Math.min(length, MAX_SEND_CHUNK)];
    int left = length;
    boolean refuse = s == null || s.remoteClosed || s.reset;
    if (!refuse && length > DEFAULT_WINDOW && peerIsFlowControlled()) {
      // A peer doing flow control never exceeds the initial window in one frame.
      resetStream(s, RST_FLOW_CONTROL_ERROR);
      refuse = true;
    }
    while (left > 0) {
      int n = Math.min(left, chunk.length);
      readFully(chunk, n);
      left -= n;
      if (refuse) {
        credit(n);
      } else {
        try {
          s.pipe.write(chunk, 0, n);
        } catch (IOException e) {
          credit(n); // the stream ended while data was in flight
        }
      }
    }
    if (s != null && !refuse && (flags & FLAG_FIN) != 0) {
      s.remoteClosed = true;
      s.pipe.closeWrite();
      removeIfDone(s);
    } else if (s != null && s.remoteClosed && !s.reset && length > 0) {
      resetStream(s, RST_STREAM_ALREADY_CLOSED);
    }
  }

  private void onControlFrame(int type, int flags, byte[] p) throws IOException {
    switch (type) {
      case TYPE_SYN_STREAM -> {
        if (p.length < 10) {
          throw new ProtocolException("short SYN_STREAM");
        }
        int id = int31(p, 0);
        Map<String, List<String>> headers = decodeHeaders(p, 10); // always: keeps the zlib context in step
        onSynStream(id, flags, headers);
      }
      case TYPE_SYN_REPLY, TYPE_HEADERS -> {
        if (p.length < 4) {
          throw new ProtocolException("short frame");
        }
        decodeHeaders(p, 4); // servers do not expect these; decode to keep the zlib context in step
      }
      case TYPE_RST_STREAM -> {
        if (p.length < 8) {
          throw new ProtocolException("short RST_STREAM");
        }
        SpdyStream s = streams.get(int31(p, 0));
        if (s != null) {
          s.reset = true;
          s.remoteClosed = true;
          s.localClosed = true;
          s.pipe.abort();
          streams.remove(s.id);
          signalWindow();
        }
      }
      case TYPE_SETTINGS -> onSettings(p);
      case TYPE_PING -> {
        if (p.length < 4) {
          throw new ProtocolException("short PING");
        }
        if ((p[3] & 1) == 1) { // client-initiated pings are odd: echo them
          writeControl(TYPE_PING, 0, p);
        }
      }
      case TYPE_GOAWAY -> goneAway = true; // no new streams; existing ones run to their end
      case TYPE_WINDOW_UPDATE -> {
        if (p.length < 8) {
          throw new ProtocolException("short WINDOW_UPDATE");
        }
        int id = int31(p, 0);
        int delta = int31(p, 4);
        flowLock.lock();
        try {
          peerFlowControl = true;
          if (id == 0) {
            sessionSendWindow = saturatedAdd(sessionSendWindow, delta);
          } else {
            SpdyStream s = streams.get(id);
            if (s != null) {
              s.sendWindow = saturatedAdd(s.sendWindow, delta);
            }
          }
          windowChanged.signalAll();
        } finally {
          flowLock.unlock();
        }
      }
      default -> { } // unknown control frames are ignored (SPDY/3 section 2.2.1)
    }
  }

  private void onSynStream(int id, int flags, Map<String, List<String>> headers) throws IOException {
    if (id == 0 || (id & 1) == 0 || id <= lastStreamId) {
      writeRst(id, RST_PROTOCOL_ERROR);
      return;
    }
    lastStreamId = id;
    if (goneAway || closed || streams.size() >= MAX_STREAMS) {
      writeRst(id, RST_REFUSED_STREAM);
      return;
    }
    int sendWindow;
    flowLock.lock();
    try {
      sendWindow = initialSendWindow;
    } finally {
      flowLock.unlock();
    }
    SpdyStream s = new SpdyStream(id, headers, this, DEFAULT_WINDOW, sendWindow);
    Optional<String> refusal = handler.check(s);
    if (refusal.isPresent()) {
      log.debug("refusing SPDY stream {}: {}", id, refusal.get());
      writeRst(id, RST_CANCEL);
      return;
    }
    if ((flags & FLAG_UNIDIRECTIONAL) != 0) {
      s.localClosed = true;
    }
    if ((flags & FLAG_FIN) != 0) {
      s.remoteClosed = true;
      s.pipe.closeWrite();
    }
    streams.put(id, s);
    byte[] block = encodeHeaders(Map.of());
    byte[] reply = new byte[4 + block.length];
    putInt(reply, 0, id);
    System.arraycopy(block, 0, reply, 4, block.length);
    writeControlCompressed(TYPE_SYN_REPLY, reply, 4);
    handler.accepted(s);
  }

  private void onSettings(byte[] p) throws ProtocolException {
    if (p.length < 4) {
      throw new ProtocolException("short SETTINGS");
    }
    int n = getInt(p, 0);
    if (n < 0 || p.length < 4 + 8L * n) {
      throw new ProtocolException("malformed SETTINGS");
    }
    flowLock.lock();
    try {
      peerFlowControl = true;
      for (int i = 0; i < n; i++) {
        int off = 4 + 8 * i;
        int id = getInt(p, off) & 0xffffff;
        int value = getInt(p, off + 4);
        if (id == SETTINGS_INITIAL_WINDOW_SIZE && value >= 0) {
          int delta = value - initialSendWindow;
          initialSendWindow = value;
          for (SpdyStream s : streams.values()) {
            s.sendWindow = saturatedAdd(s.sendWindow, delta);
          }
        }
      }
      windowChanged.signalAll();
    } finally {
      flowLock.unlock();
    }
  }

  // ---- sending ----

  void writeData(SpdyStream s, byte[] b, int off, int len) throws IOException {
    while (len > 0) {
      int n = acquireSendWindow(s, Math.min(len, MAX_SEND_CHUNK));
      byte[] frame = new byte[8 + n];
      putInt(frame, 0, s.id);
      frame[5] = (byte) (n >>> 16);
      frame[6] = (byte) (n >>> 8);
      frame[7] = (byte) n;
      System.arraycopy(b, off, frame, 8, n);
      writeLock.lock();
      try {
        if (s.localClosed || s.reset) {
          throw new IOException("stream " + s.id + " is closed");
        }
        writeRaw(frame);
      } finally {
        writeLock.unlock();
      }
      off += n;
      len -= n;
    }
  }

  private int acquireSendWindow(SpdyStream s, int wanted) throws IOException {
    flowLock.lock();
    try {
      long graceDeadline = 0;
      while (true) {
        if (s.reset || s.localClosed || closed) {
          throw new IOException("stream " + s.id + " is closed");
        }
        boolean enforce = !peerIgnoresFlowControl;
        int available = Math.min(s.sendWindow, sessionSendWindow);
        if (!enforce || available > 0) {
          int n = enforce ? Math.min(wanted, available) : wanted;
          s.sendWindow -= n;
          sessionSendWindow -= n;
          return n;
        }
        if (peerFlowControl) {
          windowChanged.await(); // woken by WINDOW_UPDATE, SETTINGS, RST or close
          continue;
        }
        long now = System.nanoTime();
        if (graceDeadline == 0) {
          graceDeadline = now + FLOW_CONTROL_GRACE.toNanos();
        }
        if (now - graceDeadline >= 0) {
          log.debug("SPDY peer {} sent no WINDOW_UPDATE: not enforcing flow control", socket.getRemoteSocketAddress());
          peerIgnoresFlowControl = true;
          continue;
        }
        windowChanged.awaitNanos(graceDeadline - now);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting for the client's flow-control window");
    } finally {
      flowLock.unlock();
    }
  }

  private boolean peerIsFlowControlled() {
    flowLock.lock();
    try {
      return peerFlowControl;
    } finally {
      flowLock.unlock();
    }
  }

  private void signalWindow() {
    flowLock.lock();
    try {
      windowChanged.signalAll();
    } finally {
      flowLock.unlock();
    }
  }

  /** Called as a backend drains a stream's pipe: return the credit to the peer. */
  void consumed(SpdyStream s, int streamAck, int n) {
    if (streamAck > 0 && !s.remoteClosed && !s.reset) {
      writeWindowUpdateQuietly(s.id, streamAck);
    }
    credit(n);
  }

  /** Session-level credit for {@code n} bytes that left the connection's buffers. */
  private void credit(int n) {
    int ack = 0;
    flowLock.lock();
    try {
      sessionUnacked += n;
      if (sessionUnacked >= DEFAULT_WINDOW / 2) {
        ack = sessionUnacked;
        sessionUnacked = 0;
      }
    } finally {
      flowLock.unlock();
    }
    if (ack > 0) {
      writeWindowUpdateQuietly(0, ack);
    }
  }

  private void writeWindowUpdateQuietly(int id, int delta) {
    byte[] p = new byte[8];
    putInt(p, 0, id);
    putInt(p, 4, delta);
    try {
      writeControl(TYPE_WINDOW_UPDATE, 0, p);
    } catch (IOException e) {
      log.trace("WINDOW_UPDATE not sent: {}", e.toString());
    }
  }

  /** Half-closes the stream from our side with an empty DATA frame carrying FIN. Idempotent. */
  void closeLocal(SpdyStream s) {
    writeLock.lock();
    try {
      if (s.localClosed || s.reset || closed) {
        return;
      }
      s.localClosed = true;
      byte[] frame = new byte[8];
      putInt(frame, 0, s.id);
      frame[4] = FLAG_FIN;
      writeRaw(frame);
    } catch (IOException e) {
      log.trace("FIN for stream {} not sent: {}", s.id, e.toString());
    } finally {
      writeLock.unlock();
    }
    signalWindow();
    removeIfDone(s);
  }

  void resetStream(SpdyStream s, int status) {
    if (s.reset) {
      return;
    }
    s.reset = true;
    s.localClosed = true;
    s.remoteClosed = true;
    s.pipe.abort();
    streams.remove(s.id);
    signalWindow();
    try {
      writeRst(s.id, status);
    } catch (IOException e) {
      log.trace("RST_STREAM for {} not sent: {}", s.id, e.toString());
    }
  }

  private void removeIfDone(SpdyStream s) {
    if (s.localClosed && s.remoteClosed) {
      streams.remove(s.id);
    }
  }

  private void writeRst(int id, int status) throws IOException {
    byte[] p = new byte[8];
    putInt(p, 0, id);
    putInt(p, 4, status);
    writeControl(TYPE_RST_STREAM, 0, p);
  }

  /** Sends GOAWAY once: the peer may open no more streams. */
  void sendGoAway(int status) {
    if (goneAway && status == 0) {
      return;
    }
    goneAway = true;
    byte[] p = new byte[8];
    putInt(p, 0, lastStreamId);
    putInt(p, 4, status);
    try {
      writeControl(TYPE_GOAWAY, 0, p);
    } catch (IOException e) {
      log.trace("GOAWAY not sent: {}", e.toString());
    }
  }

  /**
   * Ends the session politely: GOAWAY, then TCP half-close so the client reads everything we sent, then a hard
   * close after {@code linger} if the client has not closed by then.
   */
  void finish(Duration linger) {
    sendGoAway(0);
    writeLock.lock();
    try {
      if (!closed && !socket.isOutputShutdown()) {
        socket.shutdownOutput();
      }
    } catch (IOException e) {
      log.trace("shutdownOutput failed: {}", e.toString());
    } finally {
      writeLock.unlock();
    }
    scheduler.schedule(this::terminate, linger.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Closes the socket and aborts every stream; runs close listeners once. Idempotent, any thread. */
  void terminate() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      socket.close();
    } catch (IOException e) {
      log.trace("close failed: {}", e.toString());
    }
    for (SpdyStream s : streams.values()) {
      s.reset = true;
      s.pipe.abort();
    }
    streams.clear();
    signalWindow();
    for (Runnable r : closeListeners) {
      if (closeListeners.remove(r)) {
        try {
          r.run();
        } catch (RuntimeException e) {
          log.warn("close listener failed", e);
        }
      }
    }
    inflaterEnd();
    writeLock.lock();
    try {
      deflater.end();
    } finally {
      writeLock.unlock();
    }
  }

  private synchronized void inflaterEnd() {
    inflater.end();
  }

  private void writeControl(int type, int flags, byte[] payload) throws IOException {
    byte[] frame = new byte[8 + payload.length];
    controlHeader(frame, type, flags, payload.length);
    System.arraycopy(payload, 0, frame, 8, payload.length);
    writeLock.lock();
    try {
      writeRaw(frame);
    } finally {
      writeLock.unlock();
    }
  }

  /** Writes a control frame whose payload from {@code blockOffset} on is an uncompressed header block. */
  private void writeControlCompressed(int type, byte[] payload, int blockOffset) throws IOException {
    writeLock.lock();
    try {
      if (closed) {
        throw new IOException("connection closed");
      }
      byte[] compressed = compress(payload, blockOffset);
      byte[] frame = new byte[8 + blockOffset + compressed.length];
      controlHeader(frame, type, 0, blockOffset + compressed.length);
      System.arraycopy(payload, 0, frame, 8, blockOffset);
      System.arraycopy(compressed, 0, frame, 8 + blockOffset, compressed.length);
      writeRaw(frame);
    } finally {
      writeLock.unlock();
    }
  }

  private void writeRaw(byte[] frame) throws IOException {
    if (closed) {
      throw new IOException("connection closed");
    }
    out.write(frame);
    out.flush();
    lastActivity = System.nanoTime();
  }

  private static void controlHeader(byte[] f, int type, int flags, int length) {
    f[0] = (byte) 0x80;
    f[1] = VERSION;
    f[2] = (byte) (type >>> 8);
    f[3] = (byte) type;
    f[4] = (byte) flags;
    f[5] = (byte) (length >>> 16);
    f[6] = (byte) (length >>> 8);
    f[7] = (byte) length;
  }

  // ---- header blocks ----

  private byte[] compress(byte[] b, int off) {
    deflater.setInput(b, off, b.length - off);
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    byte[] tmp = new byte[1024];
    while (true) {
      int n = deflater.deflate(tmp, 0, tmp.length, Deflater.SYNC_FLUSH);
      o.write(tmp, 0, n);
      if (n < tmp.length) {
        return o.toByteArray();
      }
    }
  }

  private synchronized Map<String, List<String>> decodeHeaders(byte[] p, int off) throws ProtocolException {
    if (closed) {
      throw new ProtocolException("connection closed");
    }
    byte[] raw;
    try {
      inflater.setInput(p, off, p.length - off);
      ByteArrayOutputStream o = new ByteArrayOutputStream();
      byte[] tmp = new byte[1024];
      while (true) {
        int n = inflater.inflate(tmp);
        if (n > 0) {
          o.write(tmp, 0, n);
          if (o.size() > MAX_HEADER_BLOCK) {
            throw new ProtocolException("header block too large");
          }
        } else if (inflater.needsDictionary()) {
          inflater.setDictionary(SpdyDictionary.bytes());
        } else {
          break;
        }
      }
      raw = o.toByteArray();
    } catch (DataFormatException e) {
      throw new ProtocolException("bad header compression: " + e.getMessage());
    }
    try {
      int pairs = getInt(raw, 0);
      if (pairs < 0 || pairs > 1000) {
        throw new ProtocolException("bad header count " + pairs);
      }
      Map<String, List<String>> headers = new LinkedHashMap<>();
      int pos = 4;
      for (int i = 0; i < pairs; i++) {
        int nl = getInt(raw, pos);
        String name = new String(raw, pos + 4, nl, StandardCharsets.UTF_8);
        pos += 4 + nl;
        int vl = getInt(raw, pos);
        String value = new String(raw, pos + 4, vl, StandardCharsets.UTF_8);
        pos += 4 + vl;
        List<String> values = headers.computeIfAbsent(name.toLowerCase(java.util.Locale.ROOT), k -> new ArrayList<>());
        for (String v : value.split("\0", -1)) {
          values.add(v);
        }
      }
      return headers;
    } catch (IndexOutOfBoundsException | NegativeArraySizeException e) {
      throw new ProtocolException("truncated header block");
    }
  }

  static byte[] encodeHeaders(Map<String, String> headers) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    byte[] n4 = new byte[4];
    putInt(n4, 0, headers.size());
    o.writeBytes(n4);
    headers.forEach((k, v) -> {
      byte[] kb = k.toLowerCase(java.util.Locale.ROOT).getBytes(StandardCharsets.UTF_8);
      byte[] vb = v.getBytes(StandardCharsets.UTF_8);
      byte[] l = new byte[4];
      putInt(l, 0, kb.length);
      o.writeBytes(l);
      o.writeBytes(kb);
      putInt(l, 0, vb.length);
      o.writeBytes(l);
      o.writeBytes(vb);
    });
    return o.toByteArray();
  }

  // ---- bytes ----

  static int getInt(byte[] b, int off) {
    return ((b[off] & 0xff) << 24) | ((b[off + 1] & 0xff) << 16) | ((b[off + 2] & 0xff) << 8) | (b[off + 3] & 0xff);
  }

  static int int31(byte[] b, int off) {
    return getInt(b, off) & 0x7fffffff;
  }

  static void putInt(byte[] b, int off, int v) {
    b[off] = (byte) (v >>> 24);
    b[off + 1] = (byte) (v >>> 16);
    b[off + 2] = (byte) (v >>> 8);
    b[off + 3] = (byte) v;
  }

  private static int saturatedAdd(int a, int b) {
    long r = (long) a + b;
    return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, r));
  }

  static final class ProtocolException extends IOException {
    ProtocolException(String m) {
      super(m);
    }
  }
}
