package io.berth.it;

import static io.berth.it.Cri.container;
import static io.berth.it.Cri.pod;
import static io.berth.it.Cri.runPod;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.cri.api.ContainerState;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.ext.BerthPodsGrpc;
import io.berth.cri.api.ext.Phase;
import io.berth.cri.api.ext.StartupTimingsRequest;
import io.berth.cri.api.ext.StartupTimingsResponse;
import io.berth.testing.BerthdProcess;
import io.berth.testing.LeakCheck;
import io.berth.testing.LocalRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The pod start queue on a real berthd with one slot, while threads of this test keep every CPU busy so the queue
 * holds steps back: pods started all at once all start (nothing waits on a slot forever), their waits show as
 * {@code start_queue} phases in the start-up timings, and the phases still add up to the pod's total.
 */
class StartQueueIT {
  private static final int PODS = 6;

  @RegisterExtension
  @Order(1)
  static final LocalRegistry registry = LocalRegistry.builder().build();

  @RegisterExtension
  @Order(2)
  static final BerthdProcess berthd = BerthdProcess.builder().toml("[runtime]\nstart_slots = 1").build();

  @RegisterExtension
  final LeakCheck leaks = berthd.leakCheck();

  static String image;

  @BeforeAll
  static void pullImage() {
    image = Cri.pushAndPull(berthd, registry, "it/start-queue");
  }

  @Test
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
    List<String> pods = new ArrayList<>();
    List<String> containers = new ArrayList<>();
    ExecutorService clients = Executors.newFixedThreadPool(PODS);
    try {
      List<Future<String[]>> starts = new ArrayList<>();
      for (int i = 0; i < PODS; i++) {
        String name = "queued-" + i;
        starts.add(clients.submit(() -> {
          PodSandboxConfig.Builder config = pod(berthd, name);
          String podId = runPod(berthd, config, "");
          String id = Cri.createAndStart(berthd, podId, config, container("c", image, "sleep", "300"));
          return new String[] {podId, id};
        }));
      }
      for (Future<String[]> f : starts) {
        String[] ids = f.get(120, TimeUnit.SECONDS);
        pods.add(ids[0]);
        containers.add(ids[1]);
      }
    } finally {
      burning.set(false);
      for (Thread t : burners) {
        t.join();
      }
      clients.shutdownNow();
    }

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
}
