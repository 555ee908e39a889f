package io.berth.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class UnitsTest {

    private static final Instant NOW = Instant.parse("2026-01-01T12:00:00Z");

    @Test
    void size_usesDecimalUnitsWithThreeDigits() {
        assertThat(Units.size(0)).isEqualTo("0B");
        assertThat(Units.size(742)).isEqualTo("742B");
        assertThat(Units.size(999)).isEqualTo("999B");
        assertThat(Units.size(1000)).isEqualTo("1kB");
        assertThat(Units.size(126_000)).isEqualTo("126kB");
        assertThat(Units.size(1_234_567)).isEqualTo("1.23MB");
        assertThat(Units.size(12_345_678)).isEqualTo("12.3MB");
        assertThat(Units.size(2_000_000_000L)).isEqualTo("2GB");
        assertThat(Units.size(1_500_000_000_000L)).isEqualTo("1.5TB");
    }

    @Test
    void size_roundingUpToThousand_movesToNextUnit() {
        assertThat(Units.size(999_600)).isEqualTo("1MB");
    }

    @Test
    void size_negative_isDash() {
        assertThat(Units.size(-1)).isEqualTo("-");
    }

    @Test
    void ago_wordsLikeCrictl() {
        assertThat(Units.ago(NOW.minusMillis(300), NOW)).isEqualTo("Less than a second ago");
        assertThat(Units.ago(NOW.minusSeconds(1), NOW)).isEqualTo("1 second ago");
        assertThat(Units.ago(NOW.minusSeconds(45), NOW)).isEqualTo("45 seconds ago");
        assertThat(Units.ago(NOW.minusSeconds(90), NOW)).isEqualTo("About a minute ago");
        assertThat(Units.ago(NOW.minusSeconds(150), NOW)).isEqualTo("2 minutes ago");
        assertThat(Units.ago(NOW.minus(Duration.ofMinutes(70)), NOW)).isEqualTo("About an hour ago");
        assertThat(Units.ago(NOW.minus(Duration.ofHours(5)), NOW)).isEqualTo("5 hours ago");
        assertThat(Units.ago(NOW.minus(Duration.ofDays(3)), NOW)).isEqualTo("3 days ago");
        assertThat(Units.ago(NOW.minus(Duration.ofDays(20)), NOW)).isEqualTo("2 weeks ago");
        assertThat(Units.ago(NOW.minus(Duration.ofDays(100)), NOW)).isEqualTo("3 months ago");
        assertThat(Units.ago(NOW.minus(Duration.ofDays(800)), NOW)).isEqualTo("2 years ago");
    }

    @Test
    void fromNanos_keepsNanoseconds() {
        assertThat(Units.fromNanos(1_700_000_000_123_456_789L)).isEqualTo(Instant.ofEpochSecond(1_700_000_000L, 123_456_789));
    }

    @Test
    void parseDuration_goStyle() {
        assertThat(Units.parseDuration("30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(Units.parseDuration("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(Units.parseDuration("1h30m")).isEqualTo(Duration.ofMinutes(90));
        assertThat(Units.parseDuration("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(Units.parseDuration("1.5s")).isEqualTo(Duration.ofMillis(1500));
        assertThat(Units.parseDuration("2d")).isEqualTo(Duration.ofDays(2));
        assertThat(Units.parseDuration("15")).isEqualTo(Duration.ofSeconds(15));
    }

    @Test
    void parseDuration_garbage_isRejected() {
        assertThatThrownBy(() -> Units.parseDuration("10x")).isInstanceOf(CliException.class);
        assertThatThrownBy(() -> Units.parseDuration("m5")).isInstanceOf(CliException.class);
        assertThatThrownBy(() -> Units.parseDuration("")).isInstanceOf(CliException.class);
    }

    @Test
    void shortId_stripsAlgorithmAndTruncates() {
        assertThat(Units.shortId("sha256:0123456789abcdef0123")).isEqualTo("0123456789abc");
        assertThat(Units.shortId("abc")).isEqualTo("abc");
    }
}
