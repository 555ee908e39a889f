package io.berth.it;

import static io.berth.it.Cri.container;
import static io.berth.it.Cri.pod;
import static io.berth.it.Cri.runPod;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.cri.api.ContainerState;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.StatusRequest;
import io.berth.cri.api.ext.BerthPodsGrpc;
import io.berth.cri.api.ext.Phase;
import io.berth.cri.api.ext.StartupTimingsRequest;
import io.berth.cri.api.ext.StartupTimingsResponse;
import io.berth.testing.BerthdProcess;
import io.berth.testing.CpuLoad;
import io.berth.testing.LeakCheck;
import io.berth.testing.LocalRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The pod start queue on a real berthd with one slot. While threads of this test (berthd's own cgroup) keep every CPU
 * busy, the queue holds steps back: pods started all at once all start (nothing waits on a slot forever), their
 * waits show as {@code start_queue} phases in the start-up timings, and the phases still add up to the pod's total.
 * While processes in a cgroup of their own keep the CPUs busy, as a node's pods would, the queue steps aside.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class) // the load of the second must not linger into the first
class StartQueueIT {
  private static final int PODS = 6;

  @RegisterExtension
  @Order(1)
  static final LocalRegistry registry = LocalRegistry.builder().build();

  static final int METRICS_PORT = freePort();

  @RegisterExtension
  @Order(2)
  static final BerthdProcess berthd = BerthdProcess.builder().toml("[runtime]\nstart_slots = 1\n[metrics]\n"
      + "enabled = true\naddress = \"127.0.0.1:" + METRICS_PORT + "\"").build();

  @RegisterExtension
  final LeakCheck leaks = berthd.leakCheck();

  static String image;

  @BeforeAll
  static void pullImage() {
    image = Cri.pushAndPull(berthd, registry, "it/start-queue");
  }

  @Test
  @Order(1)
  void podsStartedAtOnceOnBusyCpus_allStart_andTheirQueueWaitsAreTimed() throws Exception {
    int cpus = Runtime.getRuntime().availableProcessors();
    AtomicBoolean burning = new AtomicBoolean(true);
    List<Thread> burners = new ArrayList<>();
    for (int i = 0; i < 2 * cpus; i++) {
      burners.add(Thread.ofPlatform().daemon().start(() -> {
        long x = 0;
        while (burning.get()) {
          x += System.nanoTime() % 7;
        }
        if (x == 42) {
          System.out.print("");
        }
      }));
    }
    List<Started> started;
    try {
      started = startAtOnce("queued-");
    } finally {
      burning.set(false);
      for (Thread t : burners) {
        t.join();
      }
    }
    List<String> pods = started.stream().map(Started::podId).toList();
    List<String> containers = started.stream().map(Started::containerId).toList();

    for (String id : containers) {
      assertThat(Cri.status(berthd, id).getState()).isEqualTo(ContainerState.CONTAINER_RUNNING);
    }
    BerthPodsGrpc.BerthPodsBlockingStub berth = BerthPodsGrpc.newBlockingStub(berthd.channel());
    long waited = 0;
    for (String podId : pods) {
      StartupTimingsResponse t = berth.startupTimings(StartupTimingsRequest.newBuilder().setPodSandboxId(podId)
          .build());
      List<Phase> queued = t.getPhasesList().stream().filter(p -> p.getName().equals("start_queue")).toList();
      // RunPodSandbox's CNI ADD and its infra process (these pods share a PID namespace, so they have one), then
      // the container's create and start.
      assertThat(queued.stream().filter(p -> p.getContainerId().isEmpty())).hasSize(2);
      assertThat(queued.stream().filter(p -> !p.getContainerId().isEmpty())).hasSize(2);
      assertThat(t.getTotalNanos()).isEqualTo(t.getPhasesList().stream().mapToLong(Phase::getNanos).sum());
      waited += queued.stream().mapToLong(Phase::getNanos).sum();
    }
    // Six pods' steps through one slot on saturated CPUs: some of them waited.
    assertThat(waited).isPositive();
    assertThat(berthd.logTail(2000)).doesNotContain("interrupted while waiting to start");
    berthd.removeAllPods();
  }

  @Test
  @Order(2)
  void otherWorkInACgroupOfItsOwn_makesTheQueueStepAside() throws Exception {
    int cpus = Runtime.getRuntime().availableProcessors();
    double before = admittedBesideOtherWork();
    List<Started> started;
    try (CpuLoad load = CpuLoad.start(2 * cpus)) {
      // berthd sees it in the cgroups' CPU counters, and shows it in its verbose status (crictl info)
      double seen = -1;
      for (long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5); seen < 0.5 && System.nanoTime() < until; ) {
        Thread.sleep(100);
        seen = outsideCpusInStatus();
      }
      assertThat(seen).isGreaterThanOrEqualTo(0.5);
      started = startAtOnce("beside-");
    }
    for (Started s : started) {
      assertThat(Cri.status(berthd, s.containerId()).getState()).isEqualTo(ContainerState.CONTAINER_RUNNING);
    }
    // One slot for six pods' steps: without the load of the other cgroup most would have waited on it
    assertThat(admittedBesideOtherWork()).isGreaterThan(before);
    berthd.removeAllPods();
  }

  private record Started(String podId, String containerId) {}

  /** Starts {@link #PODS} pods with a container each, all at once. */
  private static List<Started> startAtOnce(String prefix) throws Exception {
    List<Started> started = new ArrayList<>();
    ExecutorService clients = Executors.newFixedThreadPool(PODS);
    try {
      List<Future<Started>> starts = new ArrayList<>();
      for (int i = 0; i < PODS; i++) {
        String name = prefix + i;
        starts.add(clients.submit(() -> {
          PodSandboxConfig.Builder config = pod(berthd, name);
          String podId = runPod(berthd, config, "");
          return new Started(podId, Cri.createAndStart(berthd, podId, config, container("c", image, "sleep", "300")));
        }));
      }
      for (Future<Started> f : starts) {
        started.add(f.get(120, TimeUnit.SECONDS));
      }
    } finally {
      clients.shutdownNow();
    }
    return started;
  }

  /** The CPUs' worth of other work in berthd's verbose status ({@code startQueue.outsideCpus}), -1 for null. */
  private static double outsideCpusInStatus() {
    String config = berthd.runtime().status(StatusRequest.newBuilder().setVerbose(true).build()).getInfoMap()
        .get("config");
    Matcher m = Pattern.compile("\"startQueue\":\\{\"slots\":1,[^}]*\"outsideCpus\":([0-9.]+|null)").matcher(config);
    assertThat(m.find()).as(config).isTrue();
    return m.group(1).equals("null") ? -1 : Double.parseDouble(m.group(1));
  }

  /** berthd's count of steps its queue let go because other work kept the node busy. */
  private static double admittedBesideOtherWork() throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + METRICS_PORT + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body().lines().filter(l -> l.startsWith("berth_start_queue_steps_total{why=\"outside_load\"}"))
        .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
  }

  private static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
