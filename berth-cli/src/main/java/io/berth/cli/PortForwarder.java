package io.berth.cli;

import io.berth.cri.api.PortForwardRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Forwards local TCP ports to a pod through the runtime's port-forward URL, one WebSocket per connection
 * ({@code portforward.k8s.io} over WebSocket: channel 0 data, channel 1 error; the server starts each channel with
 * the port, two bytes little-endian).
 */
final class PortForwarder {

    static final List<String> PROTOCOLS = List.of("v4.channel.k8s.io", "channel.k8s.io", "portforward.k8s.io");

    private final CriClient client;
    private final String podId;
    private final String address;
    private final PrintWriter out;
    private final PrintWriter err;

    PortForwarder(CriClient client, String podId, String address, PrintWriter out, PrintWriter err) {
        this.client = client;
        this.podId = podId;
        this.address = address;
        this.out = out;
        this.err = err;
    }

    /** Listens on every pair's local port and serves until killed. */
    void serve(List<int[]> pairs) {
        List<Thread> acceptors = new ArrayList<>();
        for (int[] pair : pairs) {
            ServerSocket server;
            try {
                server = new ServerSocket(pair[0], 50, InetAddress.getByName(address));
            } catch (IOException e) {
                throw new CliException(e, "cannot listen on %s:%d: %s", address, pair[0], e.getMessage());
            }
            out.printf("Forwarding from %s:%d -> %d%n", address, server.getLocalPort(), pair[1]);
            out.flush();
            acceptors.add(Thread.ofVirtual().start(() -> accept(server, pair[1])));
        }
        for (Thread t : acceptors) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void accept(ServerSocket server, int remote) {
        while (true) {
            Socket conn;
            try {
                conn = server.accept();
            } catch (IOException e) {
                err.println("berthctl: accept on port " + server.getLocalPort() + " failed: " + e.getMessage());
                err.flush();
                return;
            }
            Thread.ofVirtual().start(() -> forward(conn, remote));
        }
    }

    private void forward(Socket conn, int remote) {
        try (conn) {
            String url = client.runtime().portForward(
                    PortForwardRequest.newBuilder().setPodSandboxId(podId).addPort(remote).build()).getUrl();
            url += (url.contains("?") ? "&" : "?") + "port=" + remote;
            OutputStream toLocal = conn.getOutputStream();
            boolean[] seen = new boolean[2];
            try (ChannelSocket socket = ChannelSocket.open(url, PROTOCOLS, (channel, data) -> {
                if (channel > 1) {
                    return;
                }
                int skip = 0;
                if (!seen[channel]) {
                    seen[channel] = true;
                    skip = Math.min(2, data.length);
                }
                if (channel == 0) {
                    try {
                        toLocal.write(data, skip, data.length - skip);
                        toLocal.flush();
                    } catch (IOException e) {
                        // local side gone; the socket closes below
                    }
                } else if (data.length > skip) {
                    err.println("berthctl: port " + remote + ": " + new String(data, skip, data.length - skip, StandardCharsets.UTF_8));
                    err.flush();
                }
            })) {
                Thread reader = Thread.ofVirtual().start(() -> {
                    byte[] buf = new byte[32 * 1024];
                    try {
                        InputStream in = conn.getInputStream();
                        int n;
                        while ((n = in.read(buf)) > 0 && !socket.isClosed()) {
                            socket.send(0, buf, 0, n);
                        }
                    } catch (IOException | RuntimeException e) {
                        // either side closed
                    }
                    socket.close();
                });
                socket.awaitClose();
                conn.close();
                reader.join();
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            err.println("berthctl: port " + remote + ": " + Berthctl.describe(e));
            err.flush();
        }
    }
}
