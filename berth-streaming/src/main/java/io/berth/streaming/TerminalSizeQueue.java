package io.berth.streaming;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayDeque;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@link ResizeQueue} of one session, fed with client-go's resize messages: JSON objects
 * {@code {"Width":80,"Height":24}}, one per WebSocket message or concatenated on the SPDY resize stream. Holds at
 * most {@link #CAPACITY} events, dropping the oldest. Thread-safe.
 */
final class TerminalSizeQueue implements ResizeQueue {
  static final int CAPACITY = 32;
  private static final int MAX_OBJECT = 4096;
  // Go's encoding/json matches field names case-insensitively.
  private static final Pattern WIDTH = Pattern.compile("\"width\"\\s*:\\s*(\\d{1,9})", Pattern.CASE_INSENSITIVE);
  private static final Pattern HEIGHT = Pattern.compile("\"height\"\\s*:\\s*(\\d{1,9})", Pattern.CASE_INSENSITIVE);

  private final ArrayDeque<TerminalSize> events = new ArrayDeque<>();
  private boolean closed;

  @Override
  public synchronized Optional<TerminalSize> next() throws InterruptedException {
    while (events.isEmpty() && !closed) {
      wait();
    }
    return Optional.ofNullable(events.poll());
  }

  synchronized void offer(TerminalSize size) {
    if (closed) {
      return;
    }
    if (events.size() == CAPACITY) {
      events.poll();
    }
    events.add(size);
    notifyAll();
  }

  /** Ends the queue: pending events are still delivered, then {@link #next()} returns empty. */
  synchronized void close() {
    closed = true;
    notifyAll();
  }

  /** Parses one JSON object; empty when it is not a resize message. */
  static Optional<TerminalSize> parse(String json) {
    Matcher w = WIDTH.matcher(json);
    Matcher h = HEIGHT.matcher(json);
    if (!w.find() || !h.find()) {
      return Optional.empty();
    }
    int width = Integer.parseInt(w.group(1));
    int height = Integer.parseInt(h.group(1));
    return width > 0xffff || height > 0xffff ? Optional.empty() : Optional.of(new TerminalSize(width, height));
  }

  /** Reads JSON objects from {@code in} until EOF, offering each resize; then closes the queue. */
  void pump(InputStream in) {
    try {
      StringBuilder obj = new StringBuilder();
      int depth = 0;
      boolean inString = false;
      boolean escaped = false;
      for (int c = in.read(); c >= 0; c = in.read()) {
        if (depth == 0) {
          if (c == '{') {
            depth = 1;
            obj.setLength(0);
            obj.append('{');
          }
          continue; // whitespace or newlines between objects
        }
        obj.append((char) c);
        if (obj.length() > MAX_OBJECT) {
          return; // not a resize stream; give up on it
        }
        if (inString) {
          if (escaped) {
            escaped = false;
          } else if (c == '\\') {
            escaped = true;
          } else if (c == '"') {
            inString = false;
          }
        } else if (c == '"') {
          inString = true;
        } else if (c == '{') {
          depth++;
        } else if (c == '}' && --depth == 0) {
          parse(obj.toString()).ifPresent(this::offer);
        }
      }
    } catch (IOException e) {
      // the stream ended with the session
    } finally {
      close();
    }
  }
}
