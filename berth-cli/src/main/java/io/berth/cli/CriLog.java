package io.berth.cli;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The CRI container log format: one line per write, {@code <RFC3339Nano> <stream> <tags> <text>}, where the first
 * tag is {@code P} for a partial line (continued by the next one of the same stream) or {@code F} for a full one.
 * See https://github.com/kubernetes/design-proposals-archive/blob/main/node/kubelet-cri-logging.md.
 */
final class CriLog {

    private CriLog() {
    }

    /** One physical line of a log file. */
    record Line(String timestamp, Instant time, String stream, boolean partial, String text) {
    }

    /** One message as the container wrote it: its partial lines joined. The time is that of its first part. */
    record Entry(String timestamp, Instant time, String stream, String text) {

        String render(boolean withTimestamp) {
            return withTimestamp ? timestamp + " " + text : text;
        }
    }

    /** Parses one line; empty when it does not follow the format. */
    static Optional<Line> parse(String line) {
        int a = line.indexOf(' ');
        if (a <= 0) {
            return Optional.empty();
        }
        int b = line.indexOf(' ', a + 1);
        if (b < 0) {
            return Optional.empty();
        }
        int c = line.indexOf(' ', b + 1);
        String tags = c < 0 ? line.substring(b + 1) : line.substring(b + 1, c);
        String text = c < 0 ? "" : line.substring(c + 1);
        String timestamp = line.substring(0, a);
        String stream = line.substring(a + 1, b);
        Instant time;
        try {
            time = OffsetDateTime.parse(timestamp).toInstant();
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
        if (!stream.equals("stdout") && !stream.equals("stderr")) {
            return Optional.empty();
        }
        String first = tags.split(":", 2)[0];
        if (!first.equals("P") && !first.equals("F")) {
            return Optional.empty();
        }
        return Optional.of(new Line(timestamp, time, stream, first.equals("P"), text));
    }

    /** Joins partial lines per stream into entries. Not thread-safe. */
    static final class Joiner {
        private final Map<String, Line> firstPart = new HashMap<>();
        private final Map<String, StringBuilder> pending = new HashMap<>();

        /** Feeds one raw line; returns the entry it completes, if any. Malformed lines are skipped. */
        Optional<Entry> accept(String raw) {
            Optional<Line> parsed = parse(raw);
            if (parsed.isEmpty()) {
                return Optional.empty();
            }
            Line line = parsed.get();
            StringBuilder text = pending.computeIfAbsent(line.stream(), s -> new StringBuilder());
            Line first = firstPart.putIfAbsent(line.stream(), line);
            if (first == null) {
                first = line;
            }
            text.append(line.text());
            if (line.partial()) {
                return Optional.empty();
            }
            pending.remove(line.stream());
            firstPart.remove(line.stream());
            return Optional.of(new Entry(first.timestamp(), first.time(), line.stream(), text.toString()));
        }
    }

    /** Entries of a whole log, keeping those at or after {@code since} (if given) and then the last {@code tail} (if >= 0). */
    static List<Entry> select(List<String> rawLines, Optional<Instant> since, int tail) {
        Joiner joiner = new Joiner();
        Deque<Entry> kept = new ArrayDeque<>();
        for (String raw : rawLines) {
            joiner.accept(raw).filter(e -> since.isEmpty() || !e.time().isBefore(since.get())).ifPresent(e -> {
                kept.addLast(e);
                if (tail >= 0 && kept.size() > tail) {
                    kept.removeFirst();
                }
            });
        }
        return new ArrayList<>(kept);
    }
}
