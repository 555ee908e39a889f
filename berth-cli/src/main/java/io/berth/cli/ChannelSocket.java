package io.berth.cli;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A WebSocket carrying the Kubernetes channel protocol ({@code *.channel.k8s.io}): every binary message starts with
 * a channel byte, the rest is that channel's data. Sends are serialised; one message is in flight at a time.
 */
final class ChannelSocket implements AutoCloseable {

    /** Receives one whole message of a channel. Called on the WebSocket's thread, in order. */
    interface Receiver {
        void receive(int channel, byte[] data);
    }

    private final WebSocket socket;
    private final CompletableFuture<Void> closed;

    private ChannelSocket(WebSocket socket, CompletableFuture<Void> closed) {
        this.socket = socket;
        this.closed = closed;
    }

    /** Opens the socket; a server that refuses the upgrade (e.g. one that speaks SPDY only) gives a clear error. */
    static ChannelSocket open(String url, List<String> protocols, Receiver receiver) {
        URI uri = URI.create(url.replaceFirst("^http", "ws"));
        CompletableFuture<Void> closed = new CompletableFuture<>();
        WebSocket.Listener listener = new WebSocket.Listener() {
            private final ByteArrayOutputStream message = new ByteArrayOutputStream();

            @Override
            public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
                byte[] bytes = new byte[data.remaining()];
                data.get(bytes);
                message.writeBytes(bytes);
                if (last) {
                    byte[] all = message.toByteArray();
                    message.reset();
                    if (all.length > 0) {
                        byte[] payload = new byte[all.length - 1];
                        System.arraycopy(all, 1, payload, 0, payload.length);
                        receiver.receive(all[0] & 0xff, payload);
                    }
                }
                ws.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
                closed.complete(null);
                return null;
            }

            @Override
            public void onError(WebSocket ws, Throwable error) {
                closed.completeExceptionally(error);
            }
        };
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        WebSocket.Builder builder = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10));
        if (!protocols.isEmpty()) {
            builder.subprotocols(protocols.getFirst(), protocols.subList(1, protocols.size()).toArray(String[]::new));
        }
        try {
            return new ChannelSocket(builder.buildAsync(uri, listener).join(), closed);
        } catch (CompletionException e) {
            if (e.getCause() instanceof WebSocketHandshakeException h) {
                throw new CliException("streaming server at %s rejected the WebSocket upgrade (HTTP %d); it may speak "
                        + "SPDY only, which berthctl does not", uri.getHost() + ":" + uri.getPort(),
                        h.getResponse().statusCode());
            }
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new CliException(cause, "cannot connect to streaming server %s: %s", uri.getHost() + ":" + uri.getPort(),
                    cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage());
        }
    }

    /** The subprotocol the server chose, empty if none. */
    String protocol() {
        return socket.getSubprotocol();
    }

    synchronized void send(int channel, byte[] data, int offset, int length) {
        ByteBuffer b = ByteBuffer.allocate(length + 1);
        b.put((byte) channel).put(data, offset, length).flip();
        socket.sendBinary(b, true).join();
    }

    /** Waits until the server closes the socket. */
    void awaitClose() {
        try {
            closed.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            // connection reset after the exchange: the caller judges by what it received
        }
    }

    boolean isClosed() {
        return closed.isDone();
    }

    @Override
    public synchronized void close() {
        if (!socket.isOutputClosed()) {
            try {
                socket.sendClose(WebSocket.NORMAL_CLOSURE, "").get(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException e) {
                // already gone
            }
        }
        socket.abort();
    }
}
