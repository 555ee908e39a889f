package io.berth.network;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.network.PodNetwork.InterfaceStats;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The /proc/net/dev table as kernel 6.x prints it (dev_seq_printf_stats). */
class NetDevReaderTest {
  static final String TABLE = """
      Inter-|   Receive                                                |  Transmit
       face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
          lo:    1234      12    0    0    0     0          0         0     1234      12    0    0    0     0       0          0
        eth0: 1052718     762    3    4    0     0          0         0    45290     531    1    2    0     0       0          0
      veth-with-long-name:18446744073709551615 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0
      """;

  @Test
  void parse_kernelTable_everyInterfaceWithRxAndTxCounters() {
    List<InterfaceStats> stats = NetDevReader.parse(TABLE);
    assertThat(stats).extracting(InterfaceStats::name).containsExactly("lo", "eth0", "veth-with-long-name");
    assertThat(stats.get(1)).isEqualTo(new InterfaceStats("eth0", 1052718, 762, 3, 4, 45290, 531, 1, 2));
  }

  @Test
  void parse_counterBeyondSignedRange_keepsUnsignedBits() {
    InterfaceStats s = NetDevReader.parse(TABLE).get(2);
    assertThat(Long.toUnsignedString(s.rxBytes())).isEqualTo("18446744073709551615");
  }

  @Test
  void parse_headerOnlyOrGarbage_isEmpty() {
    assertThat(NetDevReader.parse(TABLE.lines().limit(2).reduce("", (a, b) -> a + b + "\n"))).isEmpty();
    assertThat(NetDevReader.parse("eth0: 1 2 3\nnot a table\n")).isEmpty();
  }
}
