package io.berth.bench;

import io.berth.cri.api.ContainerState;
import io.berth.cri.api.ContainerStatusRequest;
import io.berth.cri.api.CreateContainerRequest;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.RemovePodSandboxRequest;
import io.berth.cri.api.RunPodSandboxRequest;
import io.berth.cri.api.StartContainerRequest;
import io.berth.cri.api.StopPodSandboxRequest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Starts pods the way the kubelet does and removes them again; times each start on the client side. */
final class PodRunner {

    /** One pod start, in milliseconds: RunPodSandbox, CreateContainer, StartContainer, and until RUNNING is seen. */
    record PodStart(String podId, String containerId, double runMs, double createMs, double startMs, double totalMs) {}

    private final RuntimeUnderTest runtime;
    private final String image;
    private final Path logRoot;

    PodRunner(RuntimeUnderTest runtime, String image, Path logRoot) {
        this.runtime = runtime;
        this.image = image;
        this.logRoot = logRoot;
    }

    PodStart start(String name) {
        CriClient cri = runtime.cri();
        PodSandboxConfig config = PodSpecs.sandbox(name, logRoot);
        long t0 = System.nanoTime();
        String podId = cri.runtime().runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build()).getPodSandboxId();
        long t1 = System.nanoTime();
        String ctrId = cri.runtime().createContainer(CreateContainerRequest.newBuilder()
                .setPodSandboxId(podId).setConfig(PodSpecs.sleeper(image)).setSandboxConfig(config).build()).getContainerId();
        long t2 = System.nanoTime();
        cri.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(ctrId).build());
        long t3 = System.nanoTime();
        long deadline = t3 + 60_000_000_000L;
        while (true) {
            ContainerState state = cri.runtime().containerStatus(ContainerStatusRequest.newBuilder().setContainerId(ctrId).build())
                    .getStatus().getState();
            if (state == ContainerState.CONTAINER_RUNNING) {
                break;
            }
            if (state == ContainerState.CONTAINER_EXITED || System.nanoTime() > deadline) {
                throw new BenchException(runtime.name() + ": container " + ctrId + " of pod " + name + " is " + state
                        + " instead of running");
            }
            LocalRegistry.sleep(1); // poll like a fast kubelet, without hammering the runtime
        }
        long t4 = System.nanoTime();
        return new PodStart(podId, ctrId, ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), ms(t4 - t0));
    }

    /** Starts {@code count} pods, {@code parallel} at a time, and returns each start in completion order. */
    List<PodStart> startMany(String prefix, int count, int parallel) {
        if (parallel <= 1) {
            List<PodStart> out = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                out.add(start(prefix + "-" + i));
            }
            return out;
        }
        try (ExecutorService pool = Executors.newFixedThreadPool(parallel)) {
            List<Future<PodStart>> futures = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                String name = prefix + "-" + i;
                futures.add(pool.submit(() -> start(name)));
            }
            List<PodStart> out = new ArrayList<>();
            for (Future<PodStart> f : futures) {
                out.add(join(f));
            }
            return out;
        }
    }

    /** StopPodSandbox then RemovePodSandbox for each pod (which also removes its containers), {@code parallel} at a time. */
    void removeAll(List<String> podIds, int parallel) {
        try (ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, parallel))) {
            List<Future<?>> futures = new ArrayList<>();
            for (String id : podIds) {
                futures.add(pool.submit(() -> {
                    runtime.cri().runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(id).build());
                    runtime.cri().runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(id).build());
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                join(f);
            }
        }
    }

    private static <T> T join(Future<T> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BenchException("interrupted");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException re) {
                throw re;
            }
            throw new BenchException(c.toString(), c);
        }
    }

    private static double ms(long nanos) {
        return nanos / 1_000_000.0;
    }
}
