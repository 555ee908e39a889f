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
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of an RFC 6455 WebSocket carrying Kubernetes channel messages: each message starts with its
 * channel number (a byte, or an ASCII digit with base64 payload for {@code base64.channel.k8s.io}), see
 * apimachinery {@code util/httpstream/wsstream/conn.go}. {@link #serve} runs the reader loop on the calling thread;
 * {@link #send} may be called from any thread.
 */
final class WebSocketConnection {
  private static final Logger log = LoggerFactory.getLogger(WebSocketConnection.class);
  private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  static final int MAX_MESSAGE = 4 << 20;
  static final int OP_CONT = 0;
  static final int OP_TEXT = 1;
  static final int OP_BINARY = 2;
  static final int OP_CLOSE = 8;
  static final int OP_PING = 9;
  static final int OP_PONG = 10;

  /** Receives each complete message, channel split off and payload decoded. */
  interface MessageHandler {
    void onMessage(int channel, byte[] data) throws IOException;
  }

  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;
  private final boolean base64;
  private final long idleNanos;
  private final ScheduledExecutorService scheduler;
  private final ReentrantLock writeLock = new ReentrantLock();
  private final List<Runnable> closeListeners = new CopyOnWriteArrayList<>();
  private volatile long lastActivity = System.nanoTime();
  private volatile boolean closed;
  private boolean closeSent; // guarded by writeLock

  WebSocketConnection(Socket socket, InputStream in, OutputStream out, boolean base64, Duration idleTimeout,
      ScheduledExecutorService scheduler) {
    this.socket = socket;
    this.in = in;
    this.out = out;
    this.base64 = base64;
    this.idleNanos = idleTimeout.toNanos();
    this.scheduler = scheduler;
  }

  static String acceptKey(String key) {
    try {
      MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
      return Base64.getEncoder().encodeToString(sha1.digest((key + GUID).getBytes(StandardCharsets.ISO_8859_1)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A valid {@code Sec-WebSocket-Key} is the base64 of 16 bytes. */
  static boolean validKey(String key) {
    try {
      return Base64.getDecoder().decode(key).length == 16;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  void onClose(Runnable r) {
    closeListeners.add(r);
    if (closed && closeListeners.remove(r)) {
      r.run();
    }
  }

  boolean isClosed() {
    return closed;
  }

  void serve(MessageHandler handler) {
    try {
      socket.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(idleNanos))));
      ByteArrayOutputStream message = new ByteArrayOutputStream();
      int messageOp = -1;
      byte[] head = new byte[2];
      while (!closed) {
        readFully(head, 0, 2);
        boolean fin = (head[0] & 0x80) != 0;
        int op = head[0] & 0x0f;
        if ((head[0] & 0x70) != 0) {
          throw new ProtocolError(1002, "reserved bits set");
        }
        if ((head[1] & 0x80) == 0) {
          throw new ProtocolError(1002, "client frames must be masked");
        }
        long len = head[1] & 0x7f;
        if (len == 126) {
          byte[] b = new byte[2];
          readFully(b, 0, 2);
          len = ((b[0] & 0xff) << 8) | (b[1] & 0xff);
        } else if (len == 127) {
          byte[] b = new byte[8];
          readFully(b, 0, 8);
          len = 0;
          for (byte x : b) {
            len = (len << 8) | (x & 0xff);
          }
        }
        boolean control = (op & 0x08) != 0;
        if (control && (len > 125 || !fin)) {
          throw new ProtocolError(1002, "bad control frame");
        }
        if (len < 0 || message.size() + len > MAX_MESSAGE) {
          throw new ProtocolError(1009, "message too large");
        }
        byte[] mask = new byte[4];
        readFully(mask, 0, 4);
        byte[] payload = new byte[(int) len];
        readFully(payload, 0, payload.length);
        for (int i = 0; i < payload.length; i++) {
          payload[i] ^= mask[i & 3];
        }
        switch (op) {
          case OP_CLOSE -> {
            sendClose(1000);
            return;
          }
          case OP_PING -> writeFrame(OP_PONG, payload, 0, payload.length);
          case OP_PONG -> { }
          case OP_TEXT, OP_BINARY, OP_CONT -> {
            if (op == OP_CONT ? messageOp < 0 : messageOp >= 0) {
              throw new ProtocolError(1002, "bad fragmentation");
            }
            if (op != OP_CONT) {
              messageOp = op;
            }
            message.write(payload);
            if (fin) {
              byte[] m = message.toByteArray();
              message.reset();
              messageOp = -1;
              deliver(m, handler);
            }
          }
          default -> throw new ProtocolError(1002, "unknown opcode " + op);
        }
      }
    } catch (ProtocolError e) {
      log.debug("WebSocket protocol error from {}: {}", socket.getRemoteSocketAddress(), e.getMessage());
      sendClose(e.code);
    } catch (IOException e) {
      log.debug("WebSocket connection from {} ended: {}", socket.getRemoteSocketAddress(), e.toString());
    } catch (RuntimeException e) {
      log.warn("WebSocket connection from {} failed", socket.getRemoteSocketAddress(), e);
    } finally {
      terminate();
    }
  }

  private void deliver(byte[] m, MessageHandler handler) throws IOException {
    if (m.length == 0) {
      return;
    }
    int channel;
    byte[] data;
    if (base64) {
      channel = (m[0] & 0xff) - '0';
      try {
        data = Base64.getDecoder().decode(new String(m, 1, m.length - 1, StandardCharsets.ISO_8859_1).trim());
      } catch (IllegalArgumentException e) {
        log.debug("dropping undecodable base64 message on channel {}", channel);
        return;
      }
    } else {
      channel = m[0] & 0xff;
      data = java.util.Arrays.copyOfRange(m, 1, m.length);
    }
    handler.onMessage(channel, data);
  }

  private void readFully(byte[] b, int off, int len) throws IOException {
    int done = 0;
    while (done < len) {
      int n;
      try {
        n = in.read(b, off + done, len - done);
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

  /** Sends one channel message (an empty payload is allowed: kubelet uses it to signal readiness). */
  void send(int channel, byte[] b, int off, int len) throws IOException {
    if (base64) {
      String enc = (char) ('0' + channel) + Base64.getEncoder().encodeToString(java.util.Arrays.copyOfRange(b, off,
          off + len));
      byte[] t = enc.getBytes(StandardCharsets.ISO_8859_1);
      writeFrame(OP_TEXT, t, 0, t.length);
    } else {
      byte[] m = new byte[len + 1];
      m[0] = (byte) channel;
      System.arraycopy(b, off, m, 1, len);
      writeFrame(OP_BINARY, m, 0, m.length);
    }
  }

  /** An OutputStream whose writes become messages on {@code channel}; close() is a no-op (the session ends it). */
  OutputStream channelOutput(int channel) {
    return new OutputStream() {
      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        // split large writes so a single message stays well below any client's limit
        while (len > 0) {
          int n = Math.min(len, 32 * 1024);
          send(channel, b, off, n);
          off += n;
          len -= n;
        }
      }
    };
  }

  private void writeFrame(int op, byte[] b, int off, int len) throws IOException {
    byte[] head;
    if (len < 126) {
      head = new byte[] {(byte) (0x80 | op), (byte) len};
    } else if (len < 65536) {
      head = new byte[] {(byte) (0x80 | op), 126, (byte) (len >>> 8), (byte) len};
    } else {
      head = new byte[10];
      head[0] = (byte) (0x80 | op);
      head[1] = 127;
      for (int i = 0; i < 8; i++) {
        head[9 - i] = (byte) ((long) len >>> (8 * i));
      }
    }
    writeLock.lock();
    try {
      if (closed || closeSent) {
        throw new IOException("WebSocket closed");
      }
      out.write(head);
      out.write(b, off, len);
      out.flush();
      lastActivity = System.nanoTime();
    } finally {
      writeLock.unlock();
    }
  }

  private void sendClose(int code) {
    writeLock.lock();
    try {
      if (closed || closeSent) {
        return;
      }
      out.write(new byte[] {(byte) 0x88, 2, (byte) (code >>> 8), (byte) code});
      out.flush();
      closeSent = true;
    } catch (IOException e) {
      log.trace("close frame not sent: {}", e.toString());
    } finally {
      writeLock.unlock();
    }
  }

  /** Ends politely: close frame, TCP half-close, hard close after {@code linger} unless the client closes first. */
  void finish(Duration linger) {
    sendClose(1000);
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
    for (Runnable r : closeListeners) {
      if (closeListeners.remove(r)) {
        try {
          r.run();
        } catch (RuntimeException e) {
          log.warn("close listener failed", e);
        }
      }
    }
  }

  private static final class ProtocolError extends IOException {
    final int code;

    ProtocolError(int code, String m) {
      super(m);
      this.code = code;
    }
  }
}
