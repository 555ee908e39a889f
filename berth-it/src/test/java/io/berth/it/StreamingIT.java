package io.berth.it;

import static io.berth.it.Cri.container;
import static io.berth.it.Cri.createAndStart;
import static io.berth.it.Cri.pod;
import static io.berth.it.Cri.runPod;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.cri.api.AttachRequest;
import io.berth.cri.api.ExecRequest;
import io.berth.cri.api.ExecSyncRequest;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.PortForwardRequest;
import io.berth.cri.api.StopContainerRequest;
import io.berth.streaming.SpdyTestClient;
import io.berth.streaming.WebSocketTestClient;
import io.berth.testing.BerthdProcess;
import io.berth.testing.LeakCheck;
import io.berth.testing.LocalRegistry;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Exec, attach and port-forward against real containers through berthd's streaming server, with the SPDY and
 * WebSocket clients written for the tests (as kubectl speaks them), bad input, and a 1,000-session leak check.
 */
class StreamingIT {
  private static final String V4 = "v4.channel.k8s.io";
  private static final String V5 = "v5.channel.k8s.io";

  @RegisterExtension
  @Order(1)
  static final LocalRegistry registry = LocalRegistry.builder().build();

  @RegisterExtension
  @Order(2)
  static final BerthdProcess berthd = BerthdProcess.builder().toml("[streaming]\ntoken_ttl = \"3s\"").build();

  @RegisterExtension
  final LeakCheck leaks = berthd.leakCheck();

  static String image;

  @BeforeAll
  static void pullImage() {
    image = Cri.pushAndPull(berthd, registry, "it/streaming");
  }

  private static String sleeper(String name) {
    PodSandboxConfig.Builder p = pod(berthd, name);
    String podId = runPod(berthd, p, "");
    return createAndStart(berthd, podId, p, container("c", image, "sleep", "3600"));
  }

  private static String execUrl(String containerId, boolean tty, boolean stdin, String... cmd) {
    return berthd.runtime().exec(ExecRequest.newBuilder().setContainerId(containerId).addAllCmd(List.of(cmd))
        .setTty(tty).setStdin(stdin).setStdout(true).setStderr(!tty).build()).getUrl();
  }

  private static void resize(WebSocketTestClient c, int width, int height) throws IOException {
    c.send(4, "{\"Width\":" + width + ",\"Height\":" + height + "}");
  }

  @Test
  void execTty_resizes_shellSeesEachSizeAndGetsSigwinch() throws Exception {
    String id = sleeper("tty");
    try (var c = WebSocketTestClient.connect(execUrl(id, true, true, "sh"), V5)) {
      assertThat(c.status).isEqualTo(101);
      resize(c, 100, 30);
      c.send(0, "trap 'echo got-winch' WINCH; echo ready\n");
      c.await(1, "ready");
      c.send(0, "stty size\n");
      c.await(1, "30 100");
      resize(c, 132, 43);
      c.await(1, "got-winch"); // the terminal's foreground process was told
      c.send(0, "stty size; exit 3\n");
      c.await(1, "43 132");
      c.awaitClosed();
      assertThat(c.channel(3)).contains("\"reason\":\"NonZeroExitCode\"").contains("\"message\":\"3\"");
      assertThat(c.channel(2)).isEmpty(); // a terminal has one output stream
    }
  }

  @Test
  void execTty_stdinClosed_readerSeesEof() throws Exception {
    String id = sleeper("eof");
    // cat reads the terminal in canonical mode throughout (an interactive shell switches modes around each command,
    // and a ^D that lands in between is dropped by the line discipline), so end-of-input always reaches it.
    try (var c = WebSocketTestClient.connect(execUrl(id, true, true, "cat"), V5)) {
      c.send(0, "before-eof\n");
      c.await(1, "before-eof\r\nbefore-eof\r\n"); // the terminal's echo, then cat's copy
      c.send(255, new byte[] {0}); // v5: close stdin
      c.awaitClosed();
      assertThat(c.channel(3)).isEqualTo("{\"metadata\":{},\"status\":\"Success\"}");
    }
  }

  @Test
  void execSpdy_noTty_separateStreamsAndExitCode() throws Exception {
    String id = sleeper("spdy");
    try (var c = SpdyTestClient.connect(execUrl(id, false, true, "sh", "-c",
        "read line; echo out:$line; echo err:$line >&2; exit 7"), false, V4)) {
      assertThat(c.status).isEqualTo(101);
      var error = c.open("streamType", "error");
      error.closeWrite();
      var in = c.open("streamType", "stdin");
      var out = c.open("streamType", "stdout");
      var err = c.open("streamType", "stderr");
      in.write("hello\n");
      in.closeWrite();
      assertThat(out.readAll()).isEqualTo("out:hello\n");
      assertThat(err.readAll()).isEqualTo("err:hello\n");
      assertThat(error.readAll()).contains("\"reason\":\"NonZeroExitCode\"").contains("exit code 7");
    }
  }

  @Test
  void execSpdy_tty_resizeStreamReachesTheTerminal() throws Exception {
    String id = sleeper("spdytty");
    try (var c = SpdyTestClient.connect(execUrl(id, true, true, "sh"), false, V4)) {
      var error = c.open("streamType", "error");
      error.closeWrite();
      var in = c.open("streamType", "stdin");
      var out = c.open("streamType", "stdout");
      var resize = c.open("streamType", "resize");
      resize.write("{\"Width\":90,\"Height\":25}");
      in.write("stty size; exit\n");
      out.await("25 90");
      assertThat(error.readAll()).isEqualTo("{\"metadata\":{},\"status\":\"Success\"}");
    }
  }

  @Test
  void attach_ttyContainer_seesOutputTakesInputAndFollowsResize() throws Exception {
    PodSandboxConfig.Builder p = pod(berthd, "attach");
    String podId = runPod(berthd, p, "");
    String id = createAndStart(berthd, podId, p, container("c", image, "sh", "-c",
        "trap 'echo winch:$(stty size)' WINCH; while read line; do echo said:$line; done")
        .setTty(true).setStdin(true));
    String url = berthd.runtime().attach(AttachRequest.newBuilder().setContainerId(id).setTty(true)
        .setStdin(true).setStdout(true).build()).getUrl();
    try (var c = WebSocketTestClient.connect(url, V5)) {
      assertThat(c.status).isEqualTo(101);
      c.send(0, "hi\n");
      c.await(1, "said:hi");
      resize(c, 77, 22);
      c.send(0, "again\n"); // the shell runs its trap once read returns
      c.await(1, "winch:22 77");
    }
  }

  @Test
  void portForward_serverInPod_echoesOverLoopbackAndPodNetns() throws Exception {
    String url = portForwardUrl(podWithPongServer("pf"));
    try (var c = SpdyTestClient.connect(url, false, "portforward.k8s.io")) {
      var error = c.open("streamType", "error", "port", "7070", "requestID", "0");
      var data = c.open("streamType", "data", "port", "7070", "requestID", "0");
      data.write("ping\n");
      data.await("pong");
      assertThat(error.size()).isZero();
    }
  }

  @Test
  void execSync_timeout_deadlineExceededAndTheCommandIsKilled() {
    String id = sleeper("execsync-timeout");
    assertThatThrownBy(() -> berthd.runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(id)
        .addAllCmd(List.of("sh", "-c", "exec sleep 31")).setTimeout(2).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
    // Only the container's own sleep is left: the timed-out one was killed, not abandoned.
    var left = Cri.exec(berthd, id, "sh", "-c", "grep -l sleep /proc/[0-9]*/comm | wc -l");
    assertThat(left.getStdout().toStringUtf8().strip()).isEqualTo("1");
  }

  @Test
  void execSync_backgroundChildKeepsStdioOpen_callReturnsWithTheOutput() {
    String id = sleeper("execsync-bg");
    // Were the call waiting for the child's copy of stdout to close, it would run into the timeout instead.
    var r = berthd.runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(id)
        .addAllCmd(List.of("sh", "-c", "sleep 30 & echo done; echo oops >&2; exit 4")).setTimeout(20).build());
    assertThat(r.getStdout().toStringUtf8()).isEqualTo("done\n");
    assertThat(r.getStderr().toStringUtf8()).isEqualTo("oops\n");
    assertThat(r.getExitCode()).isEqualTo(4);
  }

  /** A pod whose container answers "pong" to every connection on port 7070; returns the pod's id once it listens. */
  private static String podWithPongServer(String name) {
    PodSandboxConfig.Builder p = pod(berthd, name);
    String podId = runPod(berthd, p, "");
    String id = createAndStart(berthd, podId, p, container("c", image, "sh", "-c",
        "while true; do echo pong | nc -l -p 7070; done"));
    // busybox nc listens on :: (dual stack), so the socket shows in tcp6
    Cri.await(berthd, id, s -> Cri.exec(berthd, id, "sh", "-c", "grep -q ':1B9E ' /proc/net/tcp /proc/net/tcp6")
        .getExitCode() == 0);
    return podId;
  }

  private static String portForwardUrl(String podId) {
    return berthd.runtime().portForward(PortForwardRequest.newBuilder().setPodSandboxId(podId).build()).getUrl();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // bad input: each a clear error, and the server keeps serving

  @Test
  void badInput_reusedToken_notFoundAndServerStillServes() throws Exception {
    String id = sleeper("reuse");
    String url = execUrl(id, false, false, "echo", "once");
    try (var first = WebSocketTestClient.connect(url, V5)) {
      first.awaitClosed();
      assertThat(first.channel(1)).isEqualTo("once\n");
    }
    try (var second = WebSocketTestClient.connect(url, V5)) {
      assertThat(second.status).isEqualTo(404);
    }
    assertEchoWorks(id);
  }

  @Test
  void badInput_expiredToken_notFound() throws Exception {
    String id = sleeper("expired");
    String url = execUrl(id, false, false, "echo", "late");
    Thread.sleep(4_000); // token_ttl is 3 s for this daemon
    try (var c = WebSocketTestClient.connect(url, V5)) {
      assertThat(c.status).isEqualTo(404);
    }
    assertEchoWorks(id);
  }

  @Test
  void badInput_execIntoStoppedContainer_failedPreconditionThenErrorOnStaleUrl() throws Exception {
    String id = sleeper("stopped");
    String url = execUrl(id, false, false, "echo", "never");
    berthd.runtime().stopContainer(StopContainerRequest.newBuilder().setContainerId(id).setTimeout(0).build());
    assertThatThrownBy(() -> execUrl(id, false, false, "echo", "x"))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
          assertThat(e.getStatus().getDescription()).contains("not running");
        });
    try (var c = WebSocketTestClient.connect(url, V5)) {
      c.awaitClosed();
      assertThat(c.channel(3)).contains("\"status\":\"Failure\"").contains("not running");
      assertThat(c.channel(1)).isEmpty();
    }
  }

  @Test
  void badInput_portNobodyListensOn_errorStreamSaysSoAndOtherPortsStillWork() throws Exception {
    String url = portForwardUrl(podWithPongServer("pfbad"));
    try (var c = SpdyTestClient.connect(url, false, "portforward.k8s.io")) {
      var error = c.open("streamType", "error", "port", "7071", "requestID", "0");
      var data = c.open("streamType", "data", "port", "7071", "requestID", "0");
      assertThat(error.readAll()).contains("7071").contains("refused");
      assertThat(data.readAll()).isEmpty();
      var error2 = c.open("streamType", "error", "port", "7070", "requestID", "1");
      var data2 = c.open("streamType", "data", "port", "7070", "requestID", "1");
      data2.write("ping\n");
      data2.await("pong");
      assertThat(error2.size()).isZero();
    }
  }

  @Test
  void badInput_malformedUpgrades_badRequestAndServerStillServes() throws Exception {
    String id = sleeper("malformed");
    String url = execUrl(id, false, false, "echo", "x");
    java.net.URI u = java.net.URI.create(url);
    // No Upgrade header at all, an unknown upgrade, and bytes that are not HTTP.
    assertThat(rawRequest(u, "GET " + u.getPath() + " HTTP/1.1\r\nHost: x\r\n\r\n")).startsWith("HTTP/1.1 400");
    try (var c = SpdyTestClient.connectWithUpgrade(execUrl(id, false, false, "echo", "x"), false, "h2c", V4)) {
      assertThat(c.status).isEqualTo(400);
    }
    assertThat(rawRequest(u, "\u0016\u0003\u0001garbage-not-http\r\n\r\n")).startsWith("HTTP/1.1 400");
    assertEchoWorks(id);
  }

  private static String rawRequest(java.net.URI u, String request) throws IOException {
    try (Socket s = new Socket(u.getHost(), u.getPort())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write(request.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
      InputStream in = s.getInputStream();
      byte[] buf = new byte[512];
      int n = in.read(buf);
      return n < 0 ? "" : new String(buf, 0, n, StandardCharsets.ISO_8859_1);
    }
  }

  private static void assertEchoWorks(String id) throws Exception {
    try (var c = WebSocketTestClient.connect(execUrl(id, false, false, "echo", "still-serving"), V5)) {
      c.awaitClosed();
      assertThat(c.channel(1)).isEqualTo("still-serving\n");
      assertThat(c.channel(3)).isEqualTo("{\"metadata\":{},\"status\":\"Success\"}");
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // leaks

  @Test
  void thousandExecAndAttachSessionsWithResizes_leaveThreadsFilesAndHeapWhereTheyWere() throws Exception {
    String execTarget = sleeper("leak-exec");
    PodSandboxConfig.Builder p = pod(berthd, "leak-attach");
    String podId = runPod(berthd, p, "");
    String attachTarget = createAndStart(berthd, podId, p, container("c", image, "sh", "-c",
        "while read line; do echo said:$line; done").setTty(true).setStdin(true));

    sessions(execTarget, attachTarget, 60); // warm up: JIT, pools, lazily made buffers
    Footprint before = Footprint.of(berthd.pid());
    sessions(execTarget, attachTarget, 1000);
    Footprint after = Footprint.settled(berthd.pid(), before);

    System.out.printf("berthd before: %s%nberthd after 1000 sessions: %s%n", before, after);
    assertThat(after.threads()).as("threads").isLessThanOrEqualTo(before.threads() + 2);
    assertThat(after.fds()).as("open files").isLessThanOrEqualTo(before.fds() + 2);
    assertThat(after.heapKib()).as("heap used after a full GC, KiB").isLessThan(before.heapKib() + 4 * 1024);
    assertThat(after.children()).as("processes berthd still has running").isEqualTo(before.children());
    // berthd leads its own session; opening the sessions' terminals must not have given it a controlling one
    String stat = Files.readString(Path.of("/proc/" + berthd.pid() + "/stat"));
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    assertThat(Integer.parseInt(fields[3])).as("berthd's session").isEqualTo((int) berthd.pid());
    assertThat(Integer.parseInt(fields[4])).as("berthd's controlling terminal (tty_nr)").isZero();
  }

  /** Half exec (TTY, resized, half over SPDY), half attach (resized, detached by closing), alternating. */
  private static void sessions(String execTarget, String attachTarget, int n) throws Exception {
    for (int i = 0; i < n; i++) {
      if (i % 2 == 0) {
        if (i % 4 == 0) {
          try (var c = WebSocketTestClient.connect(execUrl(execTarget, true, true, "sh"), V5)) {
            resize(c, 80 + i % 50, 24 + i % 20);
            c.send(0, "stty size; exit\n");
            c.await(1, (24 + i % 20) + " " + (80 + i % 50));
            c.awaitClosed();
          }
        } else {
          try (var c = SpdyTestClient.connect(execUrl(execTarget, true, true, "sh"), false, V4)) {
            var error = c.open("streamType", "error");
            error.closeWrite();
            var in = c.open("streamType", "stdin");
            var out = c.open("streamType", "stdout");
            var resize = c.open("streamType", "resize");
            resize.write("{\"Width\":100,\"Height\":" + (20 + i % 30) + "}");
            in.write("stty size; exit\n");
            out.await((20 + i % 30) + " 100");
            error.readAll();
          }
        }
      } else {
        String url = berthd.runtime().attach(AttachRequest.newBuilder().setContainerId(attachTarget).setTty(true)
            .setStdin(true).setStdout(true).build()).getUrl();
        try (var c = WebSocketTestClient.connect(url, V5)) {
          resize(c, 60 + i % 40, 20);
          c.send(0, "n" + i + "\n");
          c.await(1, "said:n" + i);
        }
      }
    }
  }

  /** What berthd holds: threads, open files, heap after a full GC, and child processes. */
  private record Footprint(int threads, int fds, long heapKib, int children) {
    static Footprint of(long pid) throws Exception {
      return new Footprint(threads(pid), fds(pid), heapAfterGc(pid), children(pid));
    }

    /** Sessions end asynchronously (readers see EOF, threads exit): read again until no worse than before. */
    static Footprint settled(long pid, Footprint before) throws Exception {
      Footprint f = of(pid);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while ((f.threads > before.threads || f.fds > before.fds || f.children > before.children)
          && System.nanoTime() < deadline) {
        Thread.sleep(500);
        f = of(pid);
      }
      return f;
    }

    private static int threads(long pid) throws IOException {
      for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (l.startsWith("Threads:")) {
          return Integer.parseInt(l.substring(8).strip());
        }
      }
      throw new IllegalStateException("no Threads line");
    }

    private static int fds(long pid) throws IOException {
      try (Stream<Path> s = Files.list(Path.of("/proc/" + pid + "/fd"))) {
        return (int) s.count();
      }
    }

    private static int children(long pid) {
      return (int) ProcessHandle.of(pid).orElseThrow().children().count();
    }

    /** Used heap (young and old generation) after {@code jcmd GC.run}, from {@code GC.heap_info}. */
    private static long heapAfterGc(long pid) throws Exception {
      String jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd").toString();
      run(jcmd, Long.toString(pid), "GC.run");
      String info = run(jcmd, Long.toString(pid), "GC.heap_info");
      long used = 0;
      Matcher m = Pattern.compile("total \\d+K, used (\\d+)K").matcher(info);
      while (m.find()) {
        used += Long.parseLong(m.group(1));
      }
      if (used == 0) {
        throw new IllegalStateException("cannot read heap use from: " + info);
      }
      return used;
    }

    private static String run(String... cmd) throws Exception {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
      }
      return out;
    }
  }
}
