package io.berth.it;

import static io.berth.it.Cri.awaitExit;
import static io.berth.it.Cri.container;
import static io.berth.it.Cri.create;
import static io.berth.it.Cri.pod;
import static io.berth.it.Cri.runPod;
import static org.assertj.core.api.Assertions.assertThat;

import io.berth.cri.api.ContainerEventResponse;
import io.berth.cri.api.ContainerEventType;
import io.berth.cri.api.GetEventsRequest;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.RemoveContainerRequest;
import io.berth.cri.api.RemovePodSandboxRequest;
import io.berth.cri.api.RuntimeServiceGrpc;
import io.berth.cri.api.StartContainerRequest;
import io.berth.testing.BerthdProcess;
import io.berth.testing.LeakCheck;
import io.berth.testing.LocalRegistry;
import io.grpc.Context;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** GetContainerEvents over the real socket: every transition of a container's life, in order, to two subscribers. */
class EventsIT {
  @RegisterExtension
  @Order(1)
  static final LocalRegistry registry = LocalRegistry.builder().build();

  @RegisterExtension
  @Order(2)
  static final BerthdProcess berthd = BerthdProcess.builder().build();

  @RegisterExtension
  final LeakCheck leaks = berthd.leakCheck();

  static String image;

  @BeforeAll
  static void pullImage() {
    image = Cri.pushAndPull(berthd, registry, "it/events");
  }

  @Test
  void getContainerEvents_lifecycle_everyTransitionInOrderToEverySubscriber() throws Exception {
    try (Subscriber a = new Subscriber(); Subscriber b = new Subscriber()) {
      Thread.sleep(500); // both streams established before the first event
      PodSandboxConfig.Builder pod = pod(berthd, "events");
      String podId = runPod(berthd, pod, "");
      String id = create(berthd, podId, pod, container("c", image, "sh", "-c", "exit 0"));
      berthd.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
      awaitExit(berthd, id);
      berthd.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
      berthd.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
      List<ContainerEventType> expected = List.of(ContainerEventType.CONTAINER_CREATED_EVENT,
          ContainerEventType.CONTAINER_STARTED_EVENT, ContainerEventType.CONTAINER_STOPPED_EVENT,
          ContainerEventType.CONTAINER_DELETED_EVENT);
      for (Subscriber s : List.of(a, b)) {
        List<ContainerEventResponse> got = s.take(id, expected.size());
        assertThat(got).extracting(ContainerEventResponse::getContainerEventType).containsExactlyElementsOf(expected);
        assertThat(got).allSatisfy(e -> assertThat(e.getPodSandboxStatus().getId()).isEqualTo(podId));
        assertThat(got).extracting(ContainerEventResponse::getCreatedAt).isSorted();
      }
    }
  }

  /** One GetContainerEvents stream read on its own thread. */
  private static final class Subscriber implements AutoCloseable {
    private final BlockingQueue<ContainerEventResponse> events = new LinkedBlockingQueue<>();
    private final Context.CancellableContext context = Context.current().withCancellation();
    private final Thread reader;

    Subscriber() {
      reader = Thread.ofVirtual().start(() -> context.run(() -> {
        try {
          Iterator<ContainerEventResponse> it = RuntimeServiceGrpc.newBlockingStub(berthd.channel())
              .getContainerEvents(GetEventsRequest.getDefaultInstance());
          while (it.hasNext()) {
            events.add(it.next());
          }
        } catch (RuntimeException e) {
          // cancelled at close
        }
      }));
    }

    List<ContainerEventResponse> take(String containerId, int n) throws InterruptedException {
      List<ContainerEventResponse> out = new ArrayList<>();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (out.size() < n && System.nanoTime() < deadline) {
        ContainerEventResponse e = events.poll(1, TimeUnit.SECONDS);
        if (e != null && e.getContainerId().equals(containerId)) {
          out.add(e);
        }
      }
      return out;
    }

    @Override
    public void close() throws InterruptedException {
      context.cancel(null);
      reader.join(5000);
    }
  }
}
