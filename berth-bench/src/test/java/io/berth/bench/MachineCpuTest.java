package io.berth.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class MachineCpuTest {
    private static volatile long sink;

    @Test
    void usageUsec_readsTheKeyOfCpuStat() {
        String stat = "usage_usec 46188233815\nuser_usec 34850662457\nsystem_usec 11337571358\n";
        assertThat(MachineCpu.usageUsec(stat)).contains(46188233815L);
    }

    @Test
    void usageUsec_absentInAnEmptyOrForeignFile() {
        assertThat(MachineCpu.usageUsec("")).isEmpty();
        assertThat(MachineCpu.usageUsec("nr_periods 0\nnr_throttled 0\n")).isEmpty();
    }

    @Test
    void procStatBusyTicks_leavesOutIdleAndIowaitAndGuest() {
        // user nice system idle iowait irq softirq steal guest guest_nice
        String stat = "cpu  100 2 30 9000 500 4 5 6 70 8\ncpu0 50 1 15 4500 250 2 2 3 35 4\nintr 1 2 3\n";
        assertThat(MachineCpu.procStatBusyTicks(stat)).isEqualTo(100 + 2 + 30 + 4 + 5 + 6);
    }

    @Test
    void procStatBusyTicks_refusesSomethingElse() {
        assertThatThrownBy(() -> MachineCpu.procStatBusyTicks("intr 1 2 3\n")).isInstanceOf(BenchException.class);
    }

    @Test
    void nanos_onThisMachine_growsWhileWorking() {
        long before = MachineCpu.nanos();
        long spin = System.nanoTime() + 50_000_000L;
        while (System.nanoTime() < spin) {
            sink++;
        }
        assertThat(MachineCpu.nanos()).isGreaterThan(before);
    }
}
