package io.berth.streaming;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.core.BerthException;
import io.berth.core.ErrorKind;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.Adler32;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class StreamingServerTest {
  private static final String V4 = "v4.channel.k8s.io";
  private final FakeBackend backend = new FakeBackend();
  private final FakeClock clock = new FakeClock();
  private StreamingServer server;

  @BeforeEach
  void start() {
    server = StreamingServer.start(StreamingConfig.defaults(), backend, clock, Duration.ofSeconds(10));
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private String exec(String container, boolean tty, boolean stdin, boolean stderr, String... cmd) {
    return server.execUrl(new ExecRequest(container, List.of(cmd), tty, stdin, true, stderr));
  }

  /** Opens the streams the way client-go's v4 protocol does: error first, then the requested ones. */
  private static SpdyTestClient.Stream[] openStreams(SpdyTestClient c, boolean stdin, boolean stderr, boolean tty)
      throws Exception {
    SpdyTestClient.Stream error = c.open("streamType", "error");
    error.closeWrite(); // client-go never writes to it
    SpdyTestClient.Stream in = stdin ? c.open("streamType", "stdin") : null;
    SpdyTestClient.Stream out = c.open("streamType", "stdout");
    SpdyTestClient.Stream err = stderr ? c.open("streamType", "stderr") : null;
    SpdyTestClient.Stream resize = tty ? c.open("streamType", "resize") : null;
    return new SpdyTestClient.Stream[] {error, in, out, err, resize};
  }

  @Test
  void dictionary_matchesSpdy3Adler() {
    Adler32 a = new Adler32();
    a.update(SpdyDictionary.bytes());
    assertThat(a.getValue()).isEqualTo(0xe3c6a7c2L);
  }

  @Test
  void spdyExec_separateStreamsExitZero_reportsSuccess() throws Exception {
    try (var c = SpdyTestClient.connect(exec("c1", false, false, true, "out", "hello", "oops"), false, V4,
        "v3.channel.k8s.io")) {
      assertThat(c.status).isEqualTo(101);
      assertThat(c.responseHeaders).containsEntry("x-stream-protocol-version", V4);
      var s = openStreams(c, false, true, false);
      assertThat(s[2].readAll()).isEqualTo("hello");
      assertThat(s[3].readAll()).isEqualTo("oops");
      assertThat(s[0].readAll()).isEqualTo("{\"metadata\":{},\"status\":\"Success\"}");
      c.awaitEof();
      assertThat(c.goAway).isTrue();
    }
  }

  @Test
  void spdyExec_nonZeroExit_reportsExitCodeOnErrorStream() throws Exception {
    try (var c = SpdyTestClient.connect(exec("c1", false, false, true, "exit", "3"), false, V4)) {
      var s = openStreams(c, false, true, false);
      assertThat(s[2].readAll()).isEqualTo("bye");
      assertThat(s[0].readAll()).isEqualTo("{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated "
          + "with non-zero exit code: error executing command [exit 3], exit code 3\",\"reason\":\"NonZeroExitCode\","
          + "\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"3\"}]}}");
    }
  }

  @Test
  void spdyExec_v2Protocol_writesPlainMessageOnFailureOnly() throws Exception {
    try (var c = SpdyTestClient.connect(exec("c1", false, false, true, "exit", "2"), false, "v2.channel.k8s.io")) {
      var s = openStreams(c, false, true, false);
      assertThat(s[0].readAll()).startsWith("command terminated with non-zero exit code:").doesNotContain("{");
    }
  }

  @Test
  void spdyExec_stdinEcho_eofReachesBackend() throws Exception {
    try (var c = SpdyTestClient.connect(exec("c1", false, true, true, "cat"), true, V4)) {
      var s = openStreams(c, true, true, false);
      s[1].write("ping\n");
      s[2].await("ping\n");
      s[1].write("pong\n");
      s[1].closeWrite();
      assertThat(s[2].readAll()).isEqualTo("ping\npong\n");
      assertThat(s[3].readAll()).isEqualTo("eof");
      assertThat(backend.events.poll(10, TimeUnit.SECONDS)).isEqualTo("stdin-eof");
      assertThat(s[0].readAll()).contains("Success");
    }
  }

  @Test
  void spdyExec_largeInputAndOutput_flowControlRespected() throws Exception {
    try (var c = SpdyTestClient.connect(exec("c1", false, true, false, "cat"), true, V4)) {
      var s = openStreams(c, true, false, false);
      byte[] big = new byte[1 << 20];
      for (int i = 0; i < big.length; i++) {
        big[i] = (byte) ('A' + i % 23);
      }
      Thread w = Thread.ofVirtual().start(() -> {
        try {
          s[1].write(big);
          s[1].closeWrite();
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      assertThat(s[2].readAll()).isEqualTo(new String(big, StandardCharsets.UTF_8));
      w.join();
      assertThat(c.protocolViolation).isNull();
    }
  }

  @Test
  void spdyExec_peerWithoutFlowControl_getsAllOutput() throws Exception {
    // moby/spdystream (client-go) never sends WINDOW_UPDATE
    try (var c = SpdyTestClient.connect(exec("c1", false, false, false, "big", "1000000"), false, V4)) {
      var s = openStreams(c, false, false, false);
      assertThat(s[2].readAll()).hasSize(1_000_000);
      assertThat(s[0].readAll()).contains("Success");
    }
  }

  @Test
  void spdyExec_tty_resizesReachBackendInOrder() throws Exception {
    try (var c = SpdyTestClient.connect(exec("c1", true, true, false, "resizes", "3"), true, V4)) {
      var s = openStreams(c, true, false, true);
      s[4].write("{\"Width\":80,\"Height\":24}\n");
      s[4].write("{\"Width\":100,\"Height\":30}\n{\"width\":120,");
      s[4].write("\"height\":40}\n");
      assertThat(s[2].readAll()).isEqualTo("80x24\n100x30\n120x40\n");
      assertThat(s[0].readAll()).contains("Success");
    }
  }

  @Test
  void spdyExec_missingContainer_reportsNotFound() throws Exception {
    try (var c = SpdyTestClient.connect(exec("missing", false, false, false, "out", "x"), false, V4)) {
      var s = openStreams(c, false, false, false);
      assertThat(s[0].readAll()).contains("\"reason\":\"NotFound\"").contains("container missing not found");
    }
  }

  @Test
  void spdyAttach_stoppedContainer_reportsInternalError() throws Exception {
    String url = server.attachUrl(new AttachRequest("stopped", false, false, true, false));
    try (var c = SpdyTestClient.connect(url, false, V4)) {
      var s = openStreams(c, false, false, false);
      assertThat(s[0].readAll()).contains("\"reason\":\"InternalError\"").contains("is not running");
    }
  }

  @Test
  void spdyAttach_stdinEcho() throws Exception {
    String url = server.attachUrl(new AttachRequest("c1", true, false, true, true));
    try (var c = SpdyTestClient.connect(url, false, V4)) {
      var s = openStreams(c, true, true, false);
      s[1].write("attached");
      s[1].closeWrite();
      assertThat(s[2].readAll()).isEqualTo("attached");
      assertThat(s[0].readAll()).contains("Success");
    }
  }

  @Test
  void spdyUpgrade_unsupportedProtocol_isForbiddenWithAcceptedList() throws Exception {
    var c = SpdyTestClient.connect(exec("c1", false, false, false, "out", "x"), false, "v9.channel.k8s.io");
    assertThat(c.status).isEqualTo(403);
    assertThat(c.responseHeaders.get("x-accepted-stream-protocol-versions")).contains(V4);
  }

  @Test
  void spdyExec_clientNeverCreatesStreams_serverDropsConnection() throws Exception {
    server.close();
    server = StreamingServer.start(StreamingConfig.defaults(), backend, clock, Duration.ofMillis(200));
    try (var c = SpdyTestClient.connect(exec("c1", false, false, false, "out", "x"), false, V4)) {
      c.open("streamType", "error");
      c.awaitEof();
    }
    awaitNoThreads();
  }

  @Test
  void wsExec_v5_separateChannelsAndExitCode() throws Exception {
    try (var c = WebSocketTestClient.connect(exec("c1", false, false, true, "out", "hello", "oops", "7"),
        "v5.channel.k8s.io", V4)) {
      assertThat(c.status).isEqualTo(101);
      assertThat(c.responseHeaders).containsEntry("sec-websocket-protocol", "v5.channel.k8s.io");
      c.awaitClosed();
      assertThat(c.channel(1)).isEqualTo("hello");
      assertThat(c.channel(2)).isEqualTo("oops");
      assertThat(c.channel(3)).contains("\"reason\":\"NonZeroExitCode\"").contains("\"message\":\"7\"");
      assertThat(c.closeReceived).isTrue();
    }
  }

  @Test
  void wsExec_v5_stdinCloseSignal_reachesBackendAsEof() throws Exception {
    try (var c = WebSocketTestClient.connect(exec("c1", false, true, true, "cat"), "v5.channel.k8s.io")) {
      c.send(0, "abc");
      c.await(1, "abc");
      c.send(0, "def");
      c.send(255, new byte[] {0});
      c.awaitClosed();
      assertThat(c.channel(1)).isEqualTo("abcdef");
      assertThat(c.channel(2)).isEqualTo("eof");
      assertThat(c.channel(3)).isEqualTo("{\"metadata\":{},\"status\":\"Success\"}");
      assertThat(backend.events.poll(10, TimeUnit.SECONDS)).isEqualTo("stdin-eof");
    }
  }

  @Test
  void wsExec_ttyResizes_inOrder() throws Exception {
    try (var c = WebSocketTestClient.connect(exec("c1", true, true, false, "resizes", "2"), "v4.channel.k8s.io")) {
      c.send(4, "{\"Width\":10,\"Height\":20}");
      c.send(4, "{\"Width\":11,\"Height\":21}");
      c.awaitClosed();
      assertThat(c.channel(1)).isEqualTo("10x20\n11x21\n");
      assertThat(c.channel(3)).contains("Success");
    }
  }

  @Test
  void wsExec_base64Protocol() throws Exception {
    try (var c = WebSocketTestClient.connect(exec("c1", false, false, true, "out", "hi", "there"),
        "v4.base64.channel.k8s.io")) {
      c.awaitClosed();
      assertThat(c.channel(1)).isEqualTo("hi");
      assertThat(c.channel(2)).isEqualTo("there");
      assertThat(c.channel(3)).contains("Success");
    }
  }

  @Test
  void spdyPortForward_echoThroughPod() throws Exception {
    try (var echo = new EchoServer();
        var c = SpdyTestClient.connect(server.portForwardUrl(new PortForwardRequest("pod1", List.of())), true,
            "portforward.k8s.io")) {
      assertThat(c.status).isEqualTo(101);
      for (int req = 0; req < 2; req++) {
        String port = Integer.toString(echo.port());
        var error = c.open("streamType", "error", "port", port, "requestID", Integer.toString(req));
        error.closeWrite();
        var data = c.open("streamType", "data", "port", port, "requestID", Integer.toString(req));
        data.write("hello " + req);
        data.await("hello " + req);
        data.closeWrite();
        assertThat(data.readAll()).isEqualTo("hello " + req);
        assertThat(error.readAll()).isEmpty();
      }
    }
  }

  @Test
  void spdyPortForward_nothingListening_reportsErrorOnErrorStream() throws Exception {
    int closedPort;
    try (var s = new java.net.ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    try (var c = SpdyTestClient.connect(server.portForwardUrl(new PortForwardRequest("pod1", List.of())), false,
        "portforward.k8s.io")) {
      var error = c.open("streamType", "error", "port", Integer.toString(closedPort), "requestID", "0");
      var data = c.open("streamType", "data", "port", Integer.toString(closedPort), "requestID", "0");
      assertThat(error.readAll()).contains("error forwarding port " + closedPort).contains("Connection refused");
      assertThat(data.readAll()).isEmpty();
    }
  }

  @Test
  void spdyPortForward_badPortHeader_streamRefused() throws Exception {
    try (var c = SpdyTestClient.connect(server.portForwardUrl(new PortForwardRequest("pod1", List.of())), false,
        "portforward.k8s.io")) {
      var s = c.open("streamType", "data", "port", "nope", "requestID", "0");
      assertThat(s.reset).isTrue();
    }
  }

  @Test
  void wsPortForward_echoWithPortPrefix() throws Exception {
    try (var echo = new EchoServer();
        var c = WebSocketTestClient.connect(server.portForwardUrl(new PortForwardRequest("pod1",
            List.of(echo.port()))), "v4.channel.k8s.io")) {
      c.awaitBytes(0, 2);
      c.awaitBytes(1, 2);
      byte[] prefix = c.channelBytes(0);
      assertThat((prefix[0] & 0xff) | (prefix[1] & 0xff) << 8).isEqualTo(echo.port());
      c.send(0, "through the tunnel");
      c.awaitBytes(0, 2 + "through the tunnel".length());
      assertThat(new String(c.channelBytes(0), 2, c.channelBytes(0).length - 2, StandardCharsets.UTF_8))
          .isEqualTo("through the tunnel");
    }
  }

  @Test
  void token_expired_is404() throws Exception {
    String url = exec("c1", false, false, false, "out", "x");
    clock.advance(Duration.ofSeconds(31));
    var c = SpdyTestClient.connect(url, false, V4);
    assertThat(c.status).isEqualTo(404);
    assertThat(c.responseBody).contains("token not found");
  }

  @Test
  void token_reused_is404() throws Exception {
    String url = exec("c1", false, false, false, "out", "x");
    try (var c = SpdyTestClient.connect(url, false, V4)) {
      assertThat(c.status).isEqualTo(101);
      var s = openStreams(c, false, false, false);
      assertThat(s[0].readAll()).contains("Success");
    }
    var again = WebSocketTestClient.connect(url, V4);
    assertThat(again.status).isEqualTo(404);
  }

  @Test
  void token_forOtherEndpoint_is404() throws Exception {
    String url = exec("c1", false, false, false, "out", "x").replace("/exec/", "/attach/");
    assertThat(SpdyTestClient.connect(url, false, V4).status).isEqualTo(404);
  }

  @Test
  void malformedUpgrade_is400_andServerKeepsServing() throws Exception {
    var bad = SpdyTestClient.connectWithUpgrade(exec("c1", false, false, false, "out", "x"), false, "h2c", V4);
    assertThat(bad.status).isEqualTo(400);
    assertThat(bad.responseBody).contains("unable to upgrade");
    var noProtocol = SpdyTestClient.connect(exec("c1", false, false, false, "out", "x"), false);
    assertThat(noProtocol.status).isEqualTo(400);
    try (Socket raw = new Socket("127.0.0.1", server.port())) {
      raw.getOutputStream().write("garbage\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      assertThat(new String(raw.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1))
          .startsWith("HTTP/1.1 400");
    }
    try (var c = SpdyTestClient.connect(exec("c1", false, false, false, "out", "still here"), false, V4)) {
      var s = openStreams(c, false, false, false);
      assertThat(s[2].readAll()).isEqualTo("still here");
    }
  }

  @Test
  void execUrl_badRequests_rejected() {
    assertThatThrownBy(() -> server.execUrl(new ExecRequest("c", List.of("sh"), true, false, true, true)))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT));
    assertThatThrownBy(() -> server.execUrl(new ExecRequest("", List.of("sh"), false, false, true, false)))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT));
    assertThatThrownBy(() -> server.attachUrl(new AttachRequest("c", false, false, false, false)))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT));
    assertThatThrownBy(() -> server.portForwardUrl(new PortForwardRequest("", List.of())))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT));
  }

  @Test
  void execUrl_cacheFull_resourceExhaustedUntilTokensExpire() {
    for (int i = 0; i < RequestCache.MAX_IN_FLIGHT; i++) {
      exec("c1", false, false, false, "out", "x");
    }
    assertThatThrownBy(() -> exec("c1", false, false, false, "out", "x"))
        .isInstanceOfSatisfying(BerthException.class,
            e -> assertThat(e.kind()).isEqualTo(ErrorKind.RESOURCE_EXHAUSTED));
    clock.advance(Duration.ofSeconds(30));
    assertThat(exec("c1", false, false, false, "out", "x")).contains("/exec/");
    assertThat(server.pendingTokens()).isEqualTo(1);
  }

  @Test
  void url_hasKubeletShapeAndRandomToken() {
    String a = exec("c1", false, false, false, "out", "x");
    String b = exec("c1", false, false, false, "out", "x");
    assertThat(a).matches("http://127\\.0\\.0\\.1:" + server.port() + "/exec/[A-Za-z0-9_-]{24}");
    assertThat(a).isNotEqualTo(b);
  }

  @Test
  void spdyClientVanishesMidStream_backendStreamsClosedAndNoThreadsLeft() throws Exception {
    var c = SpdyTestClient.connect(exec("c1", false, true, false, "block"), false, V4);
    var s = openStreams(c, true, false, false);
    s[2].await("started");
    assertThat(backend.events.poll(10, TimeUnit.SECONDS)).isEqualTo("blocking");
    c.abort();
    assertThat(backend.events.poll(10, TimeUnit.SECONDS)).isIn("block-eof", "block-interrupted");
    c.close();
    awaitNoThreads();
  }

  @Test
  void wsClientVanishesMidStream_backendStreamsClosedAndNoThreadsLeft() throws Exception {
    var c = WebSocketTestClient.connect(exec("c1", false, false, false, "block"), "v5.channel.k8s.io");
    c.await(1, "started");
    assertThat(backend.events.poll(10, TimeUnit.SECONDS)).isEqualTo("blocking");
    c.abort();
    assertThat(backend.events.poll(10, TimeUnit.SECONDS)).isEqualTo("block-interrupted");
    c.close();
    awaitNoThreads();
  }

  @Test
  void manySessions_openedAndClosed_leaveNoThreadsOrConnections() throws Exception {
    int platformBefore = Thread.activeCount();
    for (int i = 0; i < 200; i++) {
      switch (i % 4) {
        case 0 -> {
          try (var c = SpdyTestClient.connect(exec("c1", true, true, false, "resizes", "2"), false, V4)) {
            var s = openStreams(c, true, false, true);
            s[4].write("{\"Width\":" + (i + 1) + ",\"Height\":5}\n{\"Width\":2,\"Height\":3}\n");
            assertThat(s[2].readAll()).isEqualTo((i + 1) + "x5\n2x3\n");
          }
        }
        case 1 -> {
          try (var c = WebSocketTestClient.connect(exec("c1", true, true, false, "resizes", "1"),
              "v5.channel.k8s.io")) {
            c.send(4, "{\"Width\":7,\"Height\":8}");
            c.awaitClosed();
            assertThat(c.channel(1)).isEqualTo("7x8\n");
          }
        }
        case 2 -> {
          // a client that goes away in the middle of a session
          var c = SpdyTestClient.connect(exec("c1", false, true, false, "block"), false, V4);
          var s = openStreams(c, true, false, false);
          s[2].await("started");
          c.abort();
          c.close();
        }
        default -> {
          String url = server.attachUrl(new AttachRequest("c1", true, false, true, false));
          try (var c = WebSocketTestClient.connect(url, "v4.channel.k8s.io")) {
            c.send(0, "x");
            c.await(1, "x");
            c.abort();
          }
        }
      }
    }
    awaitNoThreads();
    assertThat(backend.running.get()).isZero();
    assertThat(Thread.activeCount()).isLessThanOrEqualTo(platformBefore);
  }

  private void awaitNoThreads() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while ((server.liveThreads() > 0 || server.openConnections() > 0) && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(server.liveThreads()).as("streaming threads alive").isZero();
    assertThat(server.openConnections()).as("open connections").isZero();
  }
}
