package io.berth.streaming;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One client-initiated SPDY/3.1 stream: an input fed by DATA frames through a bounded pipe and an output that sends
 * DATA frames within the peer's flow-control window. {@link #output()}{@code .close()} half-closes (FIN); reading
 * ends at the peer's FIN or RST. Thread-safe.
 */
final class SpdyStream {
  final int id;
  private final Map<String, List<String>> headers;
  private final SpdyConnection conn;
  final BoundedPipe pipe;
  // flow control, guarded by conn's flow lock
  int sendWindow;
  // receive-side credit not yet returned by WINDOW_UPDATE, guarded by this
  private int unacked;
  volatile boolean localClosed;
  volatile boolean remoteClosed;
  volatile boolean reset;
  private final OutputStream out = new StreamOutput();

  SpdyStream(int id, Map<String, List<String>> headers, SpdyConnection conn, int recvWindow, int sendWindow) {
    this.id = id;
    this.headers = headers;
    this.conn = conn;
    this.sendWindow = sendWindow;
    this.pipe = new BoundedPipe(recvWindow, this::consumed);
  }

  Optional<String> header(String name) {
    List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
    return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.getFirst());
  }

  InputStream input() {
    return pipe.inputStream();
  }

  OutputStream output() {
    return out;
  }

  /** Half-closes our side (DATA with FIN). Idempotent. */
  void closeLocal() {
    conn.closeLocal(this);
  }

  /** Aborts both directions and tells the peer (RST_STREAM CANCEL). */
  void reset() {
    conn.resetStream(this, SpdyConnection.RST_CANCEL);
  }

  private void consumed(int n) {
    int ack;
    synchronized (this) {
      unacked += n;
      if (unacked < conn.recvWindow() / 2 && !remoteClosed) {
        ack = 0;
      } else {
        ack = unacked;
        unacked = 0;
      }
    }
    conn.consumed(this, ack, n);
  }

  private final class StreamOutput extends OutputStream {
    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      if (len > 0) {
        conn.writeData(SpdyStream.this, b, off, len);
      }
    }

    @Override
    public void close() {
      conn.closeLocal(SpdyStream.this);
    }
  }
}
