package io.berth.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loopback HTTP proxy in front of a real registry that injects the faults a real registry cannot produce, applied
 * to blob downloads ({@code GET /v2/.../blobs/sha...}) only:
 * <ul>
 *   <li>{@link #dropping}: the first blob response longer than the cut point is cut (connection closed) after some body bytes;</li>
 *   <li>{@link #stalling}: the first such blob response stops sending after some body bytes and holds the connection
 *       open until the client gives up;</li>
 *   <li>{@link #truncating}: every blob response claims and sends only the first half of the body, and Range
 *       requests are stripped (so resuming cannot help);</li>
 *   <li>{@link #corrupting}: every blob response has one byte flipped (same length), a digest mismatch;</li>
 *   <li>{@link #unavailableOnce}: the first blob request is answered {@code 503} without reaching the registry.</li>
 * </ul>
 * One request per connection ({@code Connection: close}), which HTTP/1.1 clients handle. Records the blob requests
 * and their Range headers so tests can see that a client resumed.
 */
public final class FaultyRegistryProxy implements AutoCloseable {
  /** The fault to inject. */
  public enum Fault { NONE, DROP_ONCE, STALL_ONCE, TRUNCATE, CORRUPT, UNAVAILABLE_ONCE }

  private final URI upstream;
  private final Fault fault;
  private final long afterBytes;
  private final ServerSocket server;
  private final AtomicBoolean faultUsed = new AtomicBoolean();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final List<String> blobRequests = new CopyOnWriteArrayList<>();
  private final AtomicInteger faultsInjected = new AtomicInteger();
  private final Thread acceptor;

  private FaultyRegistryProxy(String upstreamUrl, Fault fault, long afterBytes) throws IOException {
    this.upstream = URI.create(upstreamUrl);
    this.fault = fault;
    this.afterBytes = afterBytes;
    this.server = new ServerSocket();
    server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    this.acceptor = Thread.ofVirtual().name("faulty-proxy").start(this::acceptLoop);
  }

  private static FaultyRegistryProxy create(String upstreamUrl, Fault fault, long afterBytes) {
    try {
      return new FaultyRegistryProxy(upstreamUrl, fault, afterBytes);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Passes everything through (a second endpoint, or a baseline). */
  public static FaultyRegistryProxy passThrough(String upstreamUrl) {
    return create(upstreamUrl, Fault.NONE, 0);
  }

  /** Closes the first blob response's connection after {@code afterBytes} body bytes. */
  public static FaultyRegistryProxy dropping(String upstreamUrl, long afterBytes) {
    return create(upstreamUrl, Fault.DROP_ONCE, afterBytes);
  }

  /** Stops the first blob response after {@code afterBytes} body bytes, keeping the connection open. */
  public static FaultyRegistryProxy stalling(String upstreamUrl, long afterBytes) {
    return create(upstreamUrl, Fault.STALL_ONCE, afterBytes);
  }

  /** Serves every blob cut to half its length (Content-Length rewritten), ignoring Range. */
  public static FaultyRegistryProxy truncating(String upstreamUrl) {
    return create(upstreamUrl, Fault.TRUNCATE, 0);
  }

  /** Flips one byte of every blob body. */
  public static FaultyRegistryProxy corrupting(String upstreamUrl) {
    return create(upstreamUrl, Fault.CORRUPT, 0);
  }

  /** Answers the first blob GET with 503 Service Unavailable. */
  public static FaultyRegistryProxy unavailableOnce(String upstreamUrl) {
    return create(upstreamUrl, Fault.UNAVAILABLE_ONCE, 0);
  }

  public String url() {
    return "http://" + host();
  }

  public String host() {
    return "127.0.0.1:" + server.getLocalPort();
  }

  /** Each blob GET seen, as {@code "<path> range=<Range header or ->"}. */
  public List<String> blobRequests() {
    return Collections.unmodifiableList(new ArrayList<>(blobRequests));
  }

  /** How many times the fault was applied. */
  public int faultsInjected() {
    return faultsInjected.get();
  }

  private void acceptLoop() {
    while (!closed.get()) {
      try {
        Socket client = server.accept();
        open.add(client);
        Thread.ofVirtual().start(() -> {
          try (client) {
            handle(client);
          } catch (IOException e) {
            // client or upstream went away: nothing to do for a test proxy
          } finally {
            open.remove(client);
          }
        });
      } catch (IOException e) {
        return;
      }
    }
  }

  private void handle(Socket client) throws IOException {
    InputStream cin = client.getInputStream();
    byte[] headBytes = readHead(cin);
    if (headBytes == null) {
      return;
    }
    List<String> lines = new ArrayList<>(List.of(new String(headBytes, StandardCharsets.ISO_8859_1).split("\r\n")));
    String[] requestLine = lines.getFirst().split(" ");
    String method = requestLine[0];
    String path = requestLine.length > 1 ? requestLine[1] : "/";
    boolean blobGet = method.equals("GET") && path.matches("/v2/.+/blobs/sha(256|512):[0-9a-f]+");
    long requestBody = 0;
    String range = "-";
    StringBuilder out = new StringBuilder(lines.getFirst()).append("\r\n");
    for (String h : lines.subList(1, lines.size())) {
      String name = h.contains(":") ? h.substring(0, h.indexOf(':')).strip().toLowerCase(Locale.ROOT) : "";
      String value = h.contains(":") ? h.substring(h.indexOf(':') + 1).strip() : "";
      switch (name) {
        case "connection", "keep-alive" -> { continue; }
        case "content-length" -> requestBody = Long.parseLong(value);
        case "range" -> {
          range = value;
          if (blobGet && fault == Fault.TRUNCATE) {
            continue;
          }
        }
        case "host" -> {
          out.append("Host: ").append(upstream.getRawAuthority()).append("\r\n");
          continue;
        }
        default -> { }
      }
      out.append(h).append("\r\n");
    }
    out.append("Connection: close\r\n\r\n");
    if (blobGet) {
      blobRequests.add(path + " range=" + range);
      if (fault == Fault.UNAVAILABLE_ONCE && faultUsed.compareAndSet(false, true)) {
        faultsInjected.incrementAndGet();
        byte[] body = "{\"errors\":[{\"code\":\"UNAVAILABLE\",\"message\":\"injected\"}]}"
            .getBytes(StandardCharsets.UTF_8);
        client.getOutputStream().write(("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            + "Content-Length: " + body.length + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
        client.getOutputStream().write(body);
        client.getOutputStream().flush();
        return;
      }
    }
    try (Socket up = new Socket(upstream.getHost(), upstream.getPort())) {
      open.add(up);
      OutputStream uout = up.getOutputStream();
      uout.write(out.toString().getBytes(StandardCharsets.ISO_8859_1));
      copyExactly(cin, uout, requestBody);
      uout.flush();
      InputStream uin = up.getInputStream();
      byte[] respHead = readHead(uin);
      if (respHead == null) {
        return;
      }
      List<String> rl = List.of(new String(respHead, StandardCharsets.ISO_8859_1).split("\r\n"));
      int status = Integer.parseInt(rl.getFirst().split(" ")[1]);
      boolean faulty = blobGet && (status == 200 || status == 206) && fault != Fault.NONE
          && fault != Fault.UNAVAILABLE_ONCE;
      long contentLength = -1;
      StringBuilder resp = new StringBuilder(rl.getFirst()).append("\r\n");
      for (String h : rl.subList(1, rl.size())) {
        String name = h.contains(":") ? h.substring(0, h.indexOf(':')).strip().toLowerCase(Locale.ROOT) : "";
        if (name.equals("connection") || name.equals("keep-alive")) {
          continue;
        }
        if (name.equals("content-length")) {
          contentLength = Long.parseLong(h.substring(h.indexOf(':') + 1).strip());
          if (faulty && fault == Fault.TRUNCATE) {
            resp.append("Content-Length: ").append(contentLength / 2).append("\r\n");
            continue;
          }
        }
        resp.append(h).append("\r\n");
      }
      resp.append("Connection: close\r\n\r\n");
      OutputStream cout = client.getOutputStream();
      cout.write(resp.toString().getBytes(StandardCharsets.ISO_8859_1));
      if (method.equals("HEAD")) {
        cout.flush();
        return;
      }
      long limit = contentLength < 0 ? Long.MAX_VALUE : contentLength;
      Fault now = Fault.NONE;
      if (faulty) {
        now = switch (fault) {
          // Only a body longer than the cut point can be cut; shorter ones (configs) pass untouched.
          case DROP_ONCE, STALL_ONCE -> (contentLength < 0 || contentLength > afterBytes)
              && faultUsed.compareAndSet(false, true) ? fault : Fault.NONE;
          default -> fault;
        };
      }
      if (now == Fault.TRUNCATE) {
        limit = contentLength / 2;
      }
      long cut = now == Fault.DROP_ONCE || now == Fault.STALL_ONCE ? afterBytes : Long.MAX_VALUE;
      long corruptAt = now == Fault.CORRUPT ? Math.max(0, contentLength / 2) : -1;
      if (now != Fault.NONE) {
        faultsInjected.incrementAndGet();
      }
      byte[] buf = new byte[16 << 10];
      long sent = 0;
      while (sent < limit) {
        int want = (int) Math.min(buf.length, Math.min(limit - sent, cut - sent));
        if (want <= 0) {
          break;
        }
        int n = uin.read(buf, 0, want);
        if (n < 0) {
          break;
        }
        if (corruptAt >= sent && corruptAt < sent + n) {
          buf[(int) (corruptAt - sent)] ^= 0x5a;
        }
        cout.write(buf, 0, n);
        sent += n;
      }
      cout.flush();
      if (now == Fault.STALL_ONCE) {
        // Hold the connection without sending, until the client closes it or the proxy is closed.
        try {
          while (!closed.get() && cin.read() >= 0) {
            // discard
          }
        } catch (IOException e) {
          // client gave up
        }
      }
    }
  }

  /** Reads up to and including CRLFCRLF; null on EOF before any byte. */
  private static byte[] readHead(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int state = 0;
    while (true) {
      int c = in.read();
      if (c < 0) {
        return b.size() == 0 ? null : b.toByteArray();
      }
      b.write(c);
      state = switch (state) {
        case 0, 2 -> c == '\r' ? state + 1 : 0;
        case 1 -> c == '\n' ? 2 : (c == '\r' ? 1 : 0);
        case 3 -> c == '\n' ? 4 : (c == '\r' ? 1 : 0);
        default -> 0;
      };
      if (state == 4) {
        byte[] all = b.toByteArray();
        return java.util.Arrays.copyOf(all, all.length - 4);
      }
      if (b.size() > 256 << 10) {
        throw new IOException("header too large");
      }
    }
  }

  private static void copyExactly(InputStream in, OutputStream out, long n) throws IOException {
    byte[] buf = new byte[16 << 10];
    while (n > 0) {
      int r = in.read(buf, 0, (int) Math.min(buf.length, n));
      if (r < 0) {
        throw new IOException("request body ended early");
      }
      out.write(buf, 0, r);
      n -= r;
    }
  }

  @Override
  public void close() {
    closed.set(true);
    try {
      server.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    for (Socket s : open) {
      try {
        s.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
    acceptor.interrupt();
  }
}
