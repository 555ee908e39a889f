package io.berth.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ConfigLoaderTest {
  @Test
  void parse_empty_givesDocumentedDefaults() {
    BerthdConfig c = ConfigLoader.parse("", "t");
    assertThat(c.root()).isEqualTo("/var/lib/berth");
    assertThat(c.state()).isEqualTo("/run/berth");
    assertThat(c.grpc().address()).isEqualTo("/run/berth/berth.sock");
    assertThat(c.runtime().defaultHandler()).isEqualTo("runc");
    assertThat(c.runtime().handlers()).containsKeys("runc", "crun", "runsc");
    assertThat(c.runtime().spareRootfs()).isEqualTo(8);
    assertThat(c.runtime().startSlots()).isEqualTo(-1); // berthd's CPUs + 1
    assertThat(c.runtime().primeCgroupAttach()).isTrue();
    assertThat(c.network().confDirs()).containsExactly("/etc/cni/net.d");
    assertThat(c.network().pluginDirs()).containsExactly("/usr/lib/cni", "/opt/cni/bin");
    assertThat(c.streaming().address()).isEqualTo("127.0.0.1");
    assertThat(c.metrics().enabled()).isFalse();
  }

  @Test
  void parse_fullFile_readsEverySection() {
    BerthdConfig c = ConfigLoader.parse("""
        root = "/tmp/r"
        state = "/tmp/s"
        [grpc]
        address = "/tmp/s/b.sock"
        [image]
        max_concurrent_downloads = 8
        stall_timeout = "2m30s"
        [registry.hosts."gcr.io"]
        server = "http://127.0.0.1:5000"
        [registry.hosts."docker.io"]
        mirrors = ["http://127.0.0.1:5001", "http://127.0.0.1:5002"]
        [runtime]
        default_handler = "crun"
        spare_rootfs = 0
        start_slots = 3
        prime_cgroup_attach = false
        [runtime.handlers.crun]
        binary = "/usr/bin/crun"
        """, "t");
    assertThat(c.root()).isEqualTo("/tmp/r");
    assertThat(c.grpc().address()).isEqualTo("/tmp/s/b.sock");
    assertThat(c.image().maxConcurrentDownloads()).isEqualTo(8);
    assertThat(Checks.parseDuration(c.image().stallTimeout())).hasSeconds(150);
    assertThat(c.registry().hosts().get("gcr.io").server()).isEqualTo("http://127.0.0.1:5000");
    assertThat(c.registry().hosts().get("docker.io").mirrors()).hasSize(2);
    assertThat(c.runtime().handlers()).containsOnlyKeys("crun");
    assertThat(c.runtime().spareRootfs()).isZero();
    assertThat(c.runtime().startSlots()).isEqualTo(3);
    assertThat(c.runtime().primeCgroupAttach()).isFalse();
  }

  @Test
  void parse_unknownKey_namesTheKey() {
    assertThatThrownBy(() -> ConfigLoader.parse("[image]\nmax_concurent_downloads = 3\n", "berth.toml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("unknown key 'image.max_concurent_downloads'");
  }

  @Test
  void parse_badValue_namesTheKey() {
    assertThatThrownBy(() -> ConfigLoader.parse("[image]\nstall_timeout = \"soon\"\n", "berth.toml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("image.stall_timeout");
    assertThatThrownBy(() -> ConfigLoader.parse("[runtime]\nstart_slots = -2\n", "berth.toml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("runtime.start_slots");
    assertThatThrownBy(() -> ConfigLoader.parse("[log]\nlevel = \"loud\"\n", "berth.toml"))
        .hasMessageContaining("log.level");
    assertThatThrownBy(() -> ConfigLoader.parse("[runtime]\ndefault_handler = \"kata\"\n", "berth.toml"))
        .hasMessageContaining("runtime.default_handler");
    assertThatThrownBy(() -> ConfigLoader.parse("[image]\nmax_concurrent_downloads = \"x\"\n", "berth.toml"))
        .hasMessageContaining("image.max_concurrent_downloads");
  }

  @Test
  void parse_notToml_saysSo() {
    assertThatThrownBy(() -> ConfigLoader.parse("root = = 1", "berth.toml"))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("berth.toml");
  }
}
