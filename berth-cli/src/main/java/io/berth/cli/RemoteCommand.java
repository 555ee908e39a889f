package io.berth.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/**
 * A client of the Kubernetes remote command protocol over WebSocket, for exec and attach URLs. Channels: 0 stdin,
 * 1 stdout, 2 stderr, 3 error (a JSON Status from v4 on, carrying the exit code), 4 resize, 255 close (v5).
 * See https://github.com/kubernetes/enhancements/tree/master/keps/sig-api-machinery/4006-transition-spdy-to-websockets.
 */
final class RemoteCommand {

    static final String V5 = "v5.channel.k8s.io";
    static final List<String> PROTOCOLS = List.of(V5, "v4.channel.k8s.io", "channel.k8s.io");
    static final int STDIN = 0;
    static final int STDOUT = 1;
    static final int STDERR = 2;
    static final int ERROR = 3;
    static final int RESIZE = 4;
    static final int CLOSE = 255;

    private RemoteCommand() {
    }

    /** Runs the session to its end; returns the remote exit code. */
    static int run(String url, boolean stdin, boolean tty) throws IOException {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream error = new ByteArrayOutputStream();
        ChannelSocket socket = ChannelSocket.open(url, PROTOCOLS, (channel, data) -> {
            switch (channel) {
                case STDOUT -> {
                    out.write(data, 0, data.length);
                    out.flush();
                }
                case STDERR -> {
                    err.write(data, 0, data.length);
                    err.flush();
                }
                case ERROR -> error.writeBytes(data);
                default -> { }
            }
        });
        Optional<Terminal> terminal = tty && stdin ? Terminal.raw() : Optional.empty();
        try (socket) {
            if (tty) {
                Runnable resize = () -> Terminal.size().ifPresent(size -> {
                    byte[] json = resizeMessage(size[0], size[1]).getBytes(StandardCharsets.UTF_8);
                    if (!socket.isClosed()) {
                        socket.send(RESIZE, json, 0, json.length);
                    }
                });
                resize.run();
                onWindowChange(resize);
            }
            if (stdin) {
                boolean v5 = V5.equals(socket.protocol());
                Thread.ofVirtual().start(() -> pumpStdin(System.in, socket, v5));
            }
            socket.awaitClose();
        } finally {
            terminal.ifPresent(Terminal::close);
        }
        return exitCode(error.toString(StandardCharsets.UTF_8), err);
    }

    static String resizeMessage(int width, int height) {
        JsonObject o = new JsonObject();
        o.addProperty("Width", width);
        o.addProperty("Height", height);
        return o.toString();
    }

    private static void pumpStdin(InputStream in, ChannelSocket socket, boolean v5) {
        byte[] buf = new byte[32 * 1024];
        try {
            int n;
            while ((n = in.read(buf)) > 0 && !socket.isClosed()) {
                socket.send(STDIN, buf, 0, n);
            }
            if (v5 && !socket.isClosed()) {
                socket.send(CLOSE, new byte[] {STDIN}, 0, 1);
            }
        } catch (IOException | RuntimeException e) {
            // the session ended under us
        }
    }

    @SuppressWarnings("removal")
    private static void onWindowChange(Runnable resize) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("WINCH"), s -> resize.run());
        } catch (RuntimeException | LinkageError e) {
            // no SIGWINCH here: the size stays as it was at start
        }
    }

    /**
     * The exit code from the error channel: empty or {@code Success} is 0; a {@code NonZeroExitCode} failure
     * carries the code in its {@code ExitCode} cause; any other message is printed and gives 1.
     */
    static int exitCode(String error, PrintStream err) {
        if (error.isBlank()) {
            return 0;
        }
        try {
            JsonElement parsed = JsonParser.parseString(error);
            if (parsed.isJsonObject()) {
                JsonObject status = parsed.getAsJsonObject();
                String s = status.has("status") ? status.get("status").getAsString() : "";
                if (s.equals("Success")) {
                    return 0;
                }
                if (status.has("details") && status.getAsJsonObject("details").has("causes")) {
                    JsonArray causes = status.getAsJsonObject("details").getAsJsonArray("causes");
                    for (JsonElement c : causes) {
                        JsonObject cause = c.getAsJsonObject();
                        if (cause.has("reason") && cause.get("reason").getAsString().equals("ExitCode")) {
                            return Integer.parseInt(cause.get("message").getAsString());
                        }
                    }
                }
                err.println("berthctl: " + (status.has("message") ? status.get("message").getAsString() : error));
                return 1;
            }
        } catch (JsonParseException | IllegalStateException | NumberFormatException | UnsupportedOperationException e) {
            // not a Status: an older server's plain error text
        }
        err.println("berthctl: " + error.strip());
        return 1;
    }
}
