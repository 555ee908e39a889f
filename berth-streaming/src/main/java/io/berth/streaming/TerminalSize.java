package io.berth.streaming;

/** A terminal resize event from the client, in character cells (client-go's {@code TerminalSize}). */
public record TerminalSize(int width, int height) {}
