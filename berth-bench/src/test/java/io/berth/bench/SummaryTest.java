package io.berth.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SummaryTest {

    @Test
    void of_oddCount_medianIsMiddleSample() {
        Summary s = Summary.of(List.of(5.0, 1.0, 3.0));
        assertThat(s.median()).isEqualTo(3.0);
        assertThat(s.min()).isEqualTo(1.0);
        assertThat(s.max()).isEqualTo(5.0);
    }

    @Test
    void of_evenCount_medianIsMeanOfMiddlePair() {
        assertThat(Summary.of(List.of(4.0, 1.0, 3.0, 2.0)).median()).isEqualTo(2.5);
    }

    @Test
    void of_fiftySamples_p99IsNearestRankMaximum() {
        List<Double> xs = new ArrayList<>();
        for (int i = 1; i <= 50; i++) {
            xs.add((double) i);
        }
        Summary s = Summary.of(xs);
        assertThat(s.p99()).isEqualTo(50.0);
        assertThat(s.p90()).isEqualTo(45.0);
        assertThat(s.p10()).isEqualTo(5.0);
    }

    @Test
    void ratio_bothRuntimes_isBerthMedianOverContainerd() {
        Metric m = new Metric("pull", "cold", "ms", Map.of("containerd", List.of(100.0, 200.0, 300.0), "berth", List.of(50.0, 60.0, 70.0)));
        assertThat(m.ratio()).hasValueSatisfying(r -> assertThat(r).isCloseTo(0.3, within(1e-9)));
    }

    @Test
    void ratio_oneRuntime_isEmpty() {
        assertThat(new Metric("pull", "cold", "ms", Map.of("containerd", List.of(1.0))).ratio()).isEmpty();
    }
}
