package io.berth.streaming;

/** The fields of a CRI {@code AttachRequest} that the streaming server needs. */
public record AttachRequest(String containerId, boolean stdin, boolean tty, boolean stdout, boolean stderr) {}
