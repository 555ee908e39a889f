package io.berth.it;

import io.berth.cri.api.ContainerConfig;
import io.berth.cri.api.ContainerMetadata;
import io.berth.cri.api.ContainerState;
import io.berth.cri.api.ContainerStatus;
import io.berth.cri.api.ContainerStatusRequest;
import io.berth.cri.api.CreateContainerRequest;
import io.berth.cri.api.ExecSyncRequest;
import io.berth.cri.api.ExecSyncResponse;
import io.berth.cri.api.ImageSpec;
import io.berth.cri.api.LinuxContainerConfig;
import io.berth.cri.api.LinuxPodSandboxConfig;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.PodSandboxMetadata;
import io.berth.cri.api.PullImageRequest;
import io.berth.cri.api.RunPodSandboxRequest;
import io.berth.cri.api.StartContainerRequest;
import io.berth.testing.BerthdProcess;
import io.berth.testing.LocalRegistry;
import io.berth.testing.TestImages;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/** CRI request builders and waits shared by the end-to-end tests. */
final class Cri {
  /** Applets the test image links to busybox (so they can be a container's command, not only inside sh). */
  static final List<String> APPLETS = List.of("sh", "echo", "sleep", "cat", "ls", "id", "uname", "head", "tail",
      "dd", "nc", "httpd", "wget", "grep", "touch", "true", "false", "mkdir", "printf", "wc", "env", "hostname",
      "stty", "od", "kill");

  private Cri() {}

  /** A busybox image (Debian's busybox-static) with {@link #APPLETS}, /etc/passwd, /tmp and a marker file. */
  static TestImages.Image busyboxImage() {
    TestImages.LayerBuilder base = TestImages.layer().dir("bin", 0755)
        .file("bin/busybox", readBusybox(), 0755, 0, 0, TestImages.EPOCH);
    for (String a : APPLETS) {
      base.symlink("bin/" + a, "busybox");
    }
    base.dir("etc", 0755)
        .file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
        .file("etc/group", "root:x:0:\nnogroup:x:65534:\n")
        .dir("tmp", 01777).dir("proc", 0555).dir("sys", 0555).dir("dev", 0755).dir("root", 0700)
        .dir("www", 0755).file("www/index.html", "hello from berth\n");
    TestImages.Layer app = TestImages.layer().dir("data", 0750)
        .file("data/marker.txt", "marker content\n".getBytes(), 0640, 0, 0, TestImages.EPOCH)
        .zstd().build();
    return TestImages.image().layer(base.gzip().build()).layer(app).cmd("/bin/sh").build();
  }

  private static byte[] readBusybox() {
    try {
      return Files.readAllBytes(TestImages.BUSYBOX);
    } catch (IOException e) {
      throw new UncheckedIOException(TestImages.BUSYBOX + " missing: install busybox-static", e);
    }
  }

  /** Pushes {@link #busyboxImage()} to {@code registry} and pulls it into berthd; returns its reference. */
  static String pushAndPull(BerthdProcess berthd, LocalRegistry registry, String repository) {
    TestImages.Pushed pushed = TestImages.push(registry.url(), repository, "1.0", busyboxImage(), Optional.empty());
    berthd.images().pullImage(PullImageRequest.newBuilder()
        .setImage(ImageSpec.newBuilder().setImage(pushed.reference())).build());
    return pushed.reference();
  }

  static PodSandboxConfig.Builder pod(BerthdProcess berthd, String name) {
    String uid = UUID.randomUUID().toString();
    Path logs = berthd.logDir().resolve(name + "_" + uid);
    return PodSandboxConfig.newBuilder()
        .setMetadata(PodSandboxMetadata.newBuilder().setName(name).setNamespace("berth-it").setUid(uid))
        .setHostname(name)
        .setLogDirectory(logs.toString())
        .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent(berthd.cgroupParent()));
  }

  static String runPod(BerthdProcess berthd, PodSandboxConfig.Builder config, String handler) {
    return berthd.runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config)
        .setRuntimeHandler(handler).build()).getPodSandboxId();
  }

  static String runPod(BerthdProcess berthd, String name) {
    return runPod(berthd, pod(berthd, name), "");
  }

  static ContainerConfig.Builder container(String name, String image, String... command) {
    ContainerConfig.Builder b = ContainerConfig.newBuilder()
        .setMetadata(ContainerMetadata.newBuilder().setName(name))
        .setImage(ImageSpec.newBuilder().setImage(image))
        .setLogPath(name + ".log")
        .setLinux(LinuxContainerConfig.getDefaultInstance());
    if (command.length > 0) {
      b.addAllCommand(List.of(command));
    }
    return b;
  }

  static String create(BerthdProcess berthd, String podId, PodSandboxConfig.Builder pod, ContainerConfig.Builder c) {
    return berthd.runtime().createContainer(CreateContainerRequest.newBuilder().setPodSandboxId(podId)
        .setConfig(c).setSandboxConfig(pod).build()).getContainerId();
  }

  static String createAndStart(BerthdProcess berthd, String podId, PodSandboxConfig.Builder pod,
      ContainerConfig.Builder c) {
    String id = create(berthd, podId, pod, c);
    berthd.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
    return id;
  }

  static ContainerStatus status(BerthdProcess berthd, String containerId) {
    return berthd.runtime().containerStatus(ContainerStatusRequest.newBuilder().setContainerId(containerId).build())
        .getStatus();
  }

  /** Polls ContainerStatus until {@code done} holds (at most 60 s); returns that status. */
  static ContainerStatus await(BerthdProcess berthd, String containerId, Predicate<ContainerStatus> done) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    ContainerStatus s = status(berthd, containerId);
    while (!done.test(s)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("container " + containerId + " did not reach the expected state: " + s
            + "\nberthd log:\n" + berthd.logTail(40));
      }
      sleep(100);
      s = status(berthd, containerId);
    }
    return s;
  }

  static ContainerStatus awaitExit(BerthdProcess berthd, String containerId) {
    return await(berthd, containerId, s -> s.getState() == ContainerState.CONTAINER_EXITED);
  }

  static ExecSyncResponse exec(BerthdProcess berthd, String containerId, String... cmd) {
    return berthd.runtime().execSync(ExecSyncRequest.newBuilder().setContainerId(containerId)
        .addAllCmd(List.of(cmd)).setTimeout(30).build());
  }

  /** The container's CRI log file, read once it has {@code expectedLines} lines (at most 30 s). */
  static List<String> logLines(ContainerStatus status, int expectedLines) {
    Path log = Path.of(status.getLogPath());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    List<String> lines = List.of();
    while (System.nanoTime() < deadline) {
      try {
        lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      if (lines.size() >= expectedLines) {
        return lines;
      }
      sleep(100);
    }
    return lines;
  }

  /**
   * One HTTP/1.0 GET to an address on the test's own bridge or loopback, retried until a server answers with an
   * HTTP status line; returns the whole response, head and body.
   */
  static byte[] httpGet(String ip, int port, String path) {
    IOException last = null;
    for (int i = 0; i < 300; i++) {
      try (java.net.Socket s = new java.net.Socket()) {
        s.connect(new java.net.InetSocketAddress(ip, port), 2000);
        s.setSoTimeout(10_000);
        s.getOutputStream().write(("GET " + path + " HTTP/1.0\r\n\r\n")
            .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        byte[] response = s.getInputStream().readAllBytes();
        if (response.length >= 7 && new String(response, 0, 7, java.nio.charset.StandardCharsets.US_ASCII)
            .equals("HTTP/1.")) {
          return response;
        }
      } catch (IOException e) {
        last = e;
      }
      sleep(100);
    }
    throw new AssertionError("no answer from " + ip + ":" + port, last);
  }

  static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
