package io.berth.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CriLogTest {

    @TempDir Path dir;

    @Test
    void parse_fullLine_givesFields() {
        CriLog.Line l = CriLog.parse("2026-01-01T10:00:00.123456789Z stdout F hello world").orElseThrow();
        assertThat(l.stream()).isEqualTo("stdout");
        assertThat(l.partial()).isFalse();
        assertThat(l.text()).isEqualTo("hello world");
        assertThat(l.time()).isEqualTo(Instant.parse("2026-01-01T10:00:00.123456789Z"));
        assertThat(l.timestamp()).isEqualTo("2026-01-01T10:00:00.123456789Z");
    }

    @Test
    void parse_offsetTimestampAndExtraTags_areAccepted() {
        CriLog.Line l = CriLog.parse("2026-01-01T11:00:00.5+01:00 stderr P:extra part").orElseThrow();
        assertThat(l.partial()).isTrue();
        assertThat(l.stream()).isEqualTo("stderr");
        assertThat(l.time()).isEqualTo(Instant.parse("2026-01-01T10:00:00.5Z"));
    }

    @Test
    void parse_emptyText_isEmptyLine() {
        assertThat(CriLog.parse("2026-01-01T10:00:00Z stdout F").orElseThrow().text()).isEmpty();
        assertThat(CriLog.parse("2026-01-01T10:00:00Z stdout F ").orElseThrow().text()).isEmpty();
    }

    @Test
    void parse_malformed_isEmpty() {
        assertThat(CriLog.parse("garbage")).isEmpty();
        assertThat(CriLog.parse("notatime stdout F x")).isEmpty();
        assertThat(CriLog.parse("2026-01-01T10:00:00Z stdin F x")).isEmpty();
        assertThat(CriLog.parse("2026-01-01T10:00:00Z stdout X x")).isEmpty();
    }

    @Test
    void joiner_partialLines_areJoinedPerStream() {
        List<CriLog.Entry> entries = CriLog.select(List.of(
                "2026-01-01T10:00:01Z stdout P hel",
                "2026-01-01T10:00:02Z stderr F oops",
                "2026-01-01T10:00:03Z stdout P lo ",
                "2026-01-01T10:00:04Z stdout F world"), Optional.empty(), -1);
        assertThat(entries).extracting(CriLog.Entry::stream, CriLog.Entry::text).containsExactly(
                org.assertj.core.groups.Tuple.tuple("stderr", "oops"),
                org.assertj.core.groups.Tuple.tuple("stdout", "hello world"));
        assertThat(entries.get(1).timestamp()).isEqualTo("2026-01-01T10:00:01Z");
    }

    @Test
    void select_since_dropsOlderEntries() {
        List<CriLog.Entry> entries = CriLog.select(List.of(
                "2026-01-01T10:00:00Z stdout F one",
                "2026-01-01T10:00:05Z stdout F two",
                "2026-01-01T10:00:10Z stdout F three"), Optional.of(Instant.parse("2026-01-01T10:00:05Z")), -1);
        assertThat(entries).extracting(CriLog.Entry::text).containsExactly("two", "three");
    }

    @Test
    void select_tail_keepsLastEntriesCountingJoinedOnce() {
        List<CriLog.Entry> entries = CriLog.select(List.of(
                "2026-01-01T10:00:00Z stdout F one",
                "2026-01-01T10:00:01Z stdout P t",
                "2026-01-01T10:00:02Z stdout F wo",
                "2026-01-01T10:00:03Z stdout F three"), Optional.empty(), 2);
        assertThat(entries).extracting(CriLog.Entry::text).containsExactly("two", "three");
    }

    @Test
    void select_tailZero_givesNothing() {
        assertThat(CriLog.select(List.of("2026-01-01T10:00:00Z stdout F one"), Optional.empty(), 0)).isEmpty();
    }

    @Test
    void select_malformedLines_areSkipped() {
        assertThat(CriLog.select(List.of("junk", "2026-01-01T10:00:00Z stdout F ok"), Optional.empty(), -1))
                .extracting(CriLog.Entry::text).containsExactly("ok");
    }

    @Test
    void render_withTimestamp_prefixesOriginalTimestamp() {
        CriLog.Entry e = new CriLog.Entry("2026-01-01T10:00:00.000000001Z", Instant.EPOCH, "stdout", "x");
        assertThat(e.render(true)).isEqualTo("2026-01-01T10:00:00.000000001Z x");
        assertThat(e.render(false)).isEqualTo("x");
    }

    @Test
    void logFile_unterminatedLine_waitsForNewline() throws Exception {
        Path log = dir.resolve("0.log");
        Files.writeString(log, "2026-01-01T10:00:00Z stdout F a\n2026-01-01T10:00:01Z stdout F b");
        try (LogFile f = new LogFile(log)) {
            assertThat(f.readLines()).containsExactly("2026-01-01T10:00:00Z stdout F a");
            Files.writeString(log, "c\n", StandardOpenOption.APPEND);
            assertThat(f.readLines()).containsExactly("2026-01-01T10:00:01Z stdout F bc");
            assertThat(f.readLines()).isEmpty();
        }
    }

    @Test
    void print_splitsStreamsAndAppliesTail() throws Exception {
        Path log = dir.resolve("0.log");
        Files.writeString(log, """
                2026-01-01T10:00:00Z stdout F one
                2026-01-01T10:00:01Z stderr F two
                2026-01-01T10:00:02Z stdout F three
                """);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ContainerCommands.print(log, Optional.empty(), 2, false, true, () -> false, new PrintStream(out), new PrintStream(err));
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("2026-01-01T10:00:02Z three\n");
        assertThat(err.toString(StandardCharsets.UTF_8)).isEqualTo("2026-01-01T10:00:01Z two\n");
    }

    @Test
    void print_follow_readsAcrossRotationUntilContainerStops() throws Exception {
        Path log = dir.resolve("0.log");
        Files.writeString(log, "2026-01-01T10:00:00Z stdout F before\n");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
        AtomicBoolean running = new AtomicBoolean(true);
        Thread follower = Thread.ofVirtual().start(() -> ContainerCommands.print(log, Optional.empty(), -1, true, false,
                running::get, ps, ps));
        try {
            awaitOutput(out, "before\n");
            Files.writeString(log, "2026-01-01T10:00:01Z stdout P old-\n", StandardOpenOption.APPEND);
            // the kubelet's rotation: rename, then the runtime reopens a fresh file at the path
            Files.move(log, dir.resolve("0.log.20260101-100002"));
            Files.writeString(log, "2026-01-01T10:00:02Z stdout F file\n2026-01-01T10:00:03Z stdout F after\n");
            awaitOutput(out, "before\nold-file\nafter\n");
            Files.writeString(log, "2026-01-01T10:00:04Z stdout F last\n", StandardOpenOption.APPEND);
            running.set(false);
            follower.join();
            assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("before\nold-file\nafter\nlast\n");
        } finally {
            running.set(false);
            follower.join();
        }
    }

    private static void awaitOutput(ByteArrayOutputStream out, String expected) throws InterruptedException {
        for (int i = 0; i < 200 && !out.toString(StandardCharsets.UTF_8).equals(expected); i++) {
            Thread.sleep(50);
        }
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(expected);
    }
}
