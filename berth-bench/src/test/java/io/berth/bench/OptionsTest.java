package io.berth.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class OptionsTest {

    private static final Path HOME = Path.of("/repo");

    @Test
    void parse_noArguments_runsAllOnBothRuntimesWithDefaults() {
        Bench.Options o = Bench.Options.parse(new String[0], HOME);
        assertThat(o.command()).isEqualTo("all");
        assertThat(o.runtimes()).containsExactly("containerd", "berth");
        assertThat(o.runs()).isEqualTo(5);
        assertThat(o.pods()).isEqualTo(50);
        assertThat(o.parallel()).isEqualTo(10);
        assertThat(o.repeat()).isEqualTo(1);
        assertThat(o.berthd()).isEqualTo(Path.of("/repo/bin/berthd"));
        assertThat(o.wants("pull")).isTrue();
    }

    @Test
    void parse_onlyContainerdPodstart_selectsOneRuntimeAndBench() {
        Bench.Options o = Bench.Options.parse(
                new String[] {"podstart", "--only", "containerd", "--pods", "7", "--repeat", "3"}, HOME);
        assertThat(o.runtimes()).containsExactly("containerd");
        assertThat(o.wants("podstart")).isTrue();
        assertThat(o.wants("pull")).isFalse();
        assertThat(o.pods()).isEqualTo(7);
        assertThat(o.repeat()).isEqualTo(3);
    }

    @Test
    void parse_unknownRuntime_fails() {
        assertThatThrownBy(() -> Bench.Options.parse(new String[] {"--only", "crio"}, HOME))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("crio");
    }

    @Test
    void parse_zeroRuns_fails() {
        assertThatThrownBy(() -> Bench.Options.parse(new String[] {"--runs", "0"}, HOME))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--runs");
    }
}
