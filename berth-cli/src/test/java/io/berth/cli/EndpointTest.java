package io.berth.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class EndpointTest {

    @Test
    void parse_unixUri_givesPath() {
        assertThat(Endpoint.parse("unix:///run/berth/berth.sock").socket()).isEqualTo(Path.of("/run/berth/berth.sock"));
    }

    @Test
    void parse_plainPath_givesPath() {
        assertThat(Endpoint.parse("/tmp/c/containerd.sock").socket()).isEqualTo(Path.of("/tmp/c/containerd.sock"));
    }

    @Test
    void parse_unixWithoutSlashes_givesPath() {
        assertThat(Endpoint.parse("unix:/run/x.sock").socket()).isEqualTo(Path.of("/run/x.sock"));
    }

    @Test
    void parse_surroundingSpace_isIgnored() {
        assertThat(Endpoint.parse("  unix:///a.sock ").socket()).isEqualTo(Path.of("/a.sock"));
    }

    @Test
    void uri_roundTrips() {
        assertThat(Endpoint.parse("/a/b.sock").uri()).isEqualTo("unix:///a/b.sock");
        assertThat(Endpoint.parse(Endpoint.DEFAULT).uri()).isEqualTo(Endpoint.DEFAULT);
    }

    @Test
    void parse_tcp_isRejected() {
        assertThatThrownBy(() -> Endpoint.parse("tcp://127.0.0.1:1234")).isInstanceOf(CliException.class)
                .hasMessageContaining("only unix sockets");
    }

    @Test
    void parse_emptyOrNoPath_isRejected() {
        assertThatThrownBy(() -> Endpoint.parse("")).isInstanceOf(CliException.class);
        assertThatThrownBy(() -> Endpoint.parse("unix://")).isInstanceOf(CliException.class)
                .hasMessageContaining("no socket path");
    }
}
