package io.berth.cli;

import java.nio.file.Path;

/** A CRI endpoint: the unix socket a runtime serves on, given as {@code unix:///path} or a plain path. */
record Endpoint(Path socket) {

    static final String DEFAULT = "unix:///run/berth/berth.sock";

    static Endpoint parse(String text) {
        if (text == null || text.isBlank()) {
            throw new CliException("empty endpoint; use unix:///path/to/socket");
        }
        String s = text.strip();
        if (s.startsWith("unix://")) {
            s = s.substring("unix://".length());
        } else if (s.startsWith("unix:")) {
            s = s.substring("unix:".length());
        } else if (s.contains("://")) {
            throw new CliException("unsupported endpoint %s: only unix sockets (unix:///path) are supported", text);
        }
        if (s.isEmpty()) {
            throw new CliException("endpoint %s names no socket path", text);
        }
        return new Endpoint(Path.of(s));
    }

    /** The endpoint in the form crictl and kubelet print it. */
    String uri() {
        return "unix://" + socket;
    }
}
