package io.berth.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BerthctlTest {

    @TempDir Path dir;

    private record Run(int code, String out, String err) {
    }

    private static Run run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = Berthctl.execute(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void execute_noSocket_printsCodeAndExitsOneWithoutStackTrace() {
        Run r = run("--endpoint", dir.resolve("missing.sock").toString(), "version");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).startsWith("berthctl: UNAVAILABLE: cannot connect to " + dir.resolve("missing.sock"))
                .doesNotContain("\tat ");
    }

    @Test
    void execute_endpointAfterSubcommand_isAccepted() {
        Run r = run("images", "ls", "-r", "unix://" + dir.resolve("x.sock"));
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("UNAVAILABLE");
    }

    @Test
    void execute_badEndpoint_isOwnError() {
        Run r = run("-r", "tcp://127.0.0.1:1", "pods");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("berthctl: unsupported endpoint tcp://127.0.0.1:1: only unix sockets (unix:///path) are supported\n");
    }

    @Test
    void execute_helpEverywhere() {
        for (String[] args : new String[][] {{"--help"}, {"images", "--help"}, {"images", "pull", "--help"},
                {"run", "--help"}, {"logs", "--help"}, {"port-forward", "--help"}}) {
            Run r = run(args);
            assertThat(r.code()).as(String.join(" ", args)).isZero();
            assertThat(r.out()).as(String.join(" ", args)).startsWith("Usage: berthctl");
        }
    }

    @Test
    void execute_unknownOption_isUsageError() {
        Run r = run("ps", "--bogus");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("Unknown option");
    }

    @Test
    void execute_aliases_resolve() {
        assertThat(run("img", "ls", "--help").code()).isZero();
        assertThat(run("image", "rmi", "--help").code()).isZero();
    }
}
