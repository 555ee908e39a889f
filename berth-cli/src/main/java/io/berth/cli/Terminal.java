package io.berth.cli;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/** The controlling terminal in raw mode (through {@code stty}), restored on close and at JVM exit. */
final class Terminal implements AutoCloseable {

    private final String saved;
    private final Thread restoreHook;

    private Terminal(String saved) {
        this.saved = saved;
        this.restoreHook = new Thread(() -> stty(saved));
        Runtime.getRuntime().addShutdownHook(restoreHook);
    }

    static boolean isTerminal() {
        return System.console() != null && System.console().isTerminal();
    }

    /** Puts the terminal in raw mode, or empty when stdin is not a terminal. */
    static Optional<Terminal> raw() {
        if (!isTerminal()) {
            return Optional.empty();
        }
        String saved = stty("-g").strip();
        stty("raw", "-echo");
        return Optional.of(new Terminal(saved));
    }

    /** {@code [columns, rows]} of the terminal, if there is one. */
    static Optional<int[]> size() {
        if (!isTerminal()) {
            return Optional.empty();
        }
        String[] rc = stty("size").strip().split("\\s+");
        try {
            return Optional.of(new int[] {Integer.parseInt(rc[1]), Integer.parseInt(rc[0])});
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    private static String stty(String... args) {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "stty";
        System.arraycopy(args, 0, cmd, 1, args.length);
        try {
            Process p = new ProcessBuilder(cmd).redirectInput(new File("/dev/tty"))
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            return out;
        } catch (IOException e) {
            throw new CliException(e, "stty failed: %s", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    @Override
    public void close() {
        stty(saved);
        try {
            Runtime.getRuntime().removeShutdownHook(restoreHook);
        } catch (IllegalStateException e) {
            // shutting down: the hook restores
        }
    }
}
