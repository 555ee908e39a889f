package io.berth.streaming;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/** A TCP echo server on 127.0.0.1 standing in for a server inside a pod. */
final class EchoServer implements AutoCloseable {
  private final ServerSocket server;
  private final Thread acceptor;

  EchoServer() throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    acceptor = Thread.ofVirtual().start(() -> {
      while (true) {
        Socket s;
        try {
          s = server.accept();
        } catch (IOException e) {
          return;
        }
        Thread.ofVirtual().start(() -> {
          try (s) {
            s.getInputStream().transferTo(s.getOutputStream());
          } catch (IOException e) {
            // client went away
          }
        });
      }
    });
  }

  int port() {
    return server.getLocalPort();
  }

  @Override
  public void close() throws Exception {
    server.close();
    acceptor.join();
  }
}
