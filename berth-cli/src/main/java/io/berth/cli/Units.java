package io.berth.cli;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Human-readable sizes, relative times and durations, worded as crictl words them. */
final class Units {

    private static final String[] DECIMAL = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    private static final Pattern DURATION_PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|µs|ms|s|m|h|d)");

    private Units() {
    }

    /** Decimal units with three significant digits: {@code 742B}, {@code 126kB}, {@code 1.23MB}. */
    static String size(long bytes) {
        if (bytes < 0) {
            return "-";
        }
        double v = bytes;
        int unit = 0;
        while (v >= 1000 && unit < DECIMAL.length - 1) {
            v /= 1000;
            unit++;
        }
        String digits = threeSignificant(v);
        if (digits.equals("1000") && unit < DECIMAL.length - 1) {
            digits = "1";
            unit++;
        }
        return digits + DECIMAL[unit];
    }

    private static String threeSignificant(double v) {
        String s;
        if (v >= 100) {
            s = String.format(Locale.ROOT, "%.0f", v);
        } else if (v >= 10) {
            s = String.format(Locale.ROOT, "%.1f", v);
        } else {
            s = String.format(Locale.ROOT, "%.2f", v);
        }
        if (s.contains(".")) {
            s = s.replaceAll("0+$", "").replaceAll("\\.$", "");
        }
        return s;
    }

    /** "2 minutes ago", "About an hour ago", following docker/go-units HumanDuration. */
    static String ago(Instant then, Instant now) {
        return humanDuration(Duration.between(then, now)) + " ago";
    }

    /** Nanoseconds since the epoch, as CRI timestamps are, to an Instant. */
    static Instant fromNanos(long nanos) {
        return Instant.ofEpochSecond(0, nanos);
    }

    static String humanDuration(Duration d) {
        long seconds = d.toSeconds();
        if (seconds < 1) {
            return "Less than a second";
        }
        if (seconds == 1) {
            return "1 second";
        }
        if (seconds < 60) {
            return seconds + " seconds";
        }
        long minutes = d.toMinutes();
        if (minutes == 1) {
            return "About a minute";
        }
        if (minutes < 60) {
            return minutes + " minutes";
        }
        long hours = Math.round(d.toMillis() / 3_600_000.0);
        if (hours == 1) {
            return "About an hour";
        }
        if (hours < 48) {
            return hours + " hours";
        }
        if (hours < 24 * 7 * 2) {
            return hours / 24 + " days";
        }
        if (hours < 24 * 30 * 2) {
            return hours / 24 / 7 + " weeks";
        }
        if (hours < 24 * 365 * 2) {
            return hours / 24 / 30 + " months";
        }
        return hours / 24 / 365 + " years";
    }

    /** Go-style durations as kubectl and crictl take them: {@code 30s}, {@code 2m}, {@code 1h30m}, {@code 500ms}. */
    static Duration parseDuration(String text) {
        String s = text.strip();
        if (s.isEmpty()) {
            throw new CliException("empty duration");
        }
        if (s.chars().allMatch(Character::isDigit)) {
            return Duration.ofSeconds(Long.parseLong(s));
        }
        Matcher m = DURATION_PART.matcher(s);
        long nanos = 0;
        int end = 0;
        while (m.find()) {
            if (m.start() != end) {
                break;
            }
            double n = Double.parseDouble(m.group(1));
            long unit = switch (m.group(2)) {
                case "ns" -> 1L;
                case "us", "µs" -> 1_000L;
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                case "h" -> 3_600_000_000_000L;
                default -> 86_400_000_000_000L;
            };
            nanos += Math.round(n * unit);
            end = m.end();
        }
        if (end != s.length()) {
            throw new CliException("invalid duration %s (use e.g. 30s, 2m, 1h30m)", text);
        }
        return Duration.ofNanos(nanos);
    }

    /** The first 13 characters of an id without its {@code sha256:} prefix, as crictl prints ids in tables. */
    static String shortId(String id) {
        String s = id.startsWith("sha256:") ? id.substring(7) : id;
        return s.length() > 13 ? s.substring(0, 13) : s;
    }
}
