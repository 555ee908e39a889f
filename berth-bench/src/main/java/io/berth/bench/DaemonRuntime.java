package io.berth.bench;

import io.berth.cri.api.ListPodSandboxRequest;
import io.berth.cri.api.PodSandbox;
import io.berth.cri.api.PodSandboxStatusRequest;
import io.berth.cri.api.RemovePodSandboxRequest;
import io.berth.cri.api.RuntimeCondition;
import io.berth.cri.api.StatusRequest;
import io.berth.cri.api.StopPodSandboxRequest;
import io.berth.cri.api.VersionRequest;
import io.berth.cri.api.VersionResponse;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A runtime that is a daemon process serving CRI on a unix socket in its private dir: start, readiness, teardown.
 * Subclasses write the daemon's config and say how to launch it.
 */
abstract class DaemonRuntime implements RuntimeUnderTest {

    private static final Pattern NETNS_PATH = Pattern.compile("(/(?:var/)?run/netns/[A-Za-z0-9._-]+)");

    private Path dir;
    private Process process;
    private CriClient cri;
    private String version = "?";
    private BenchEnvironment env;

    /** Writes the daemon's config under {@code dir} and returns its command line. */
    abstract List<String> command(BenchEnvironment env, Path dir) throws IOException;

    abstract Path socket(Path dir);

    @Override
    public final void start(BenchEnvironment env) {
        this.env = env;
        dir = env.baseDir().resolve(name());
        try {
            Files.createDirectories(dir);
            mountStateTmpfs(dir.resolve("state"));
            List<String> cmd = command(env, dir);
            process = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("daemon.log").toFile())
                    .start();
        } catch (IOException e) {
            throw new BenchException("cannot start " + name() + ": " + e.getMessage(), e);
        }
        awaitReady(env.podsNeeded());
    }

    /**
     * The daemon's state dir (bundles, runtime state, sockets, pinned namespaces; the runc root is inside it) on a
     * tmpfs of its own, as a node's {@code /run} is. On a disk file system every file a pod start creates there costs
     * what the disk's allocator costs: about 0.4 ms per new inode on the journal-less ext4 of the machines here,
     * which would measure that file system rather than the runtimes. Content and snapshots stay on disk (root).
     * Unmounted with everything else under the daemon's dir at close.
     */
    private static void mountStateTmpfs(Path state) throws IOException {
        Files.createDirectories(state);
        Exec.Result r = Exec.run(List.of("mount", "-t", "tmpfs", "-o", "mode=0711,size=2g", "bench-state",
                state.toString()));
        if (!r.ok()) {
            throw new BenchException("cannot mount a tmpfs on " + state + ": " + r.output());
        }
    }

    private void awaitReady(boolean podsNeeded) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        String last = "socket " + socket(dir) + " absent";
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new BenchException(name() + " exited with " + process.exitValue() + " at start; see " + log());
            }
            if (Files.exists(socket(dir))) {
                if (cri == null) {
                    cri = new CriClient(socket(dir));
                }
                try {
                    VersionResponse v = cri.runtime().version(VersionRequest.getDefaultInstance());
                    version = v.getRuntimeName() + " " + v.getRuntimeVersion();
                    if (!podsNeeded) {
                        return; // pulls need only the image service
                    }
                    List<RuntimeCondition> conditions = cri.runtime().status(StatusRequest.getDefaultInstance())
                            .getStatus().getConditionsList();
                    boolean ready = conditions.stream().filter(c -> c.getType().equals("RuntimeReady") || c.getType().equals("NetworkReady"))
                            .filter(RuntimeCondition::getStatus).count() == 2;
                    if (ready) {
                        return;
                    }
                    last = "not ready: " + conditions;
                } catch (RuntimeException e) {
                    last = e.getMessage();
                }
            }
            LocalRegistry.sleep(200);
        }
        throw new BenchException(name() + " not ready after 90 s (" + last + "); see " + log());
    }

    Path log() {
        return dir.resolve("daemon.log");
    }

    Process process() {
        return process;
    }

    @Override
    public CriClient cri() {
        return cri;
    }

    @Override
    public Path privateDir() {
        return dir;
    }

    @Override
    public long daemonPid() {
        return process.pid();
    }

    @Override
    public String describe() {
        return version;
    }

    @Override
    public void close() {
        if (dir == null) {
            return;
        }
        Set<String> netns = new LinkedHashSet<>();
        if (cri != null && process != null && process.isAlive()) {
            try {
                removeAllPods(netns);
            } catch (RuntimeException e) {
                System.err.println("[" + name() + "] removing pods at teardown: " + e.getMessage());
            }
        }
        if (cri != null) {
            cri.close();
        }
        stopDaemon();
        killHelpers();
        HostFiles.unmountAllUnder(dir);
        // Network namespaces this runtime pinned for pods it did not get to remove (only after a failure).
        for (String ns : netns) {
            Path p = Path.of(ns);
            if (Files.exists(p)) {
                Exec.run(List.of("umount", ns));
                try {
                    Files.deleteIfExists(p);
                    System.err.println("[" + name() + "] removed leftover netns " + ns);
                } catch (IOException e) {
                    System.err.println("[" + name() + "] cannot remove netns " + ns + ": " + e.getMessage());
                }
            }
        }
        try {
            Files.createDirectories(env.logDir());
            Files.copy(log(), env.logDir().resolve(name() + "-daemon.log"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            System.err.println("[" + name() + "] cannot keep its log: " + e.getMessage());
        }
        try {
            HostFiles.deleteTree(dir);
        } catch (BenchException e) {
            System.err.println("[" + name() + "] " + e.getMessage());
        }
    }

    private void removeAllPods(Set<String> netns) {
        List<PodSandbox> pods = cri.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList();
        for (PodSandbox pod : pods) {
            try {
                var status = cri.runtime().podSandboxStatus(PodSandboxStatusRequest.newBuilder()
                        .setPodSandboxId(pod.getId()).setVerbose(true).build());
                status.getInfoMap().values().forEach(v -> {
                    Matcher m = NETNS_PATH.matcher(v);
                    while (m.find()) {
                        netns.add(m.group(1));
                    }
                });
            } catch (RuntimeException e) {
                // status is best effort: only used to find a netns to clean if removal fails
            }
            try {
                cri.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod.getId()).build());
                cri.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod.getId()).build());
            } catch (RuntimeException e) {
                System.err.println("[" + name() + "] cannot remove pod " + pod.getId() + ": " + e.getMessage());
            }
        }
    }

    private void stopDaemon() {
        if (process == null || !process.isAlive()) {
            return;
        }
        process.destroy(); // SIGTERM
        try {
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                System.err.println("[" + name() + "] did not stop on SIGTERM in 20 s; SIGKILL");
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    /** Shims, monitors and their children that still name our dir: they should be gone once pods are removed. */
    private void killHelpers() {
        String marker = dir.toString();
        long self = ProcessHandle.current().pid();
        for (int round = 0; round < 2; round++) {
            List<ProcessTable.Proc> left = ProcessTable.read().all().stream()
                    .filter(p -> p.pid() != self && p.state() != 'Z' && p.cmdline().contains(marker))
                    .toList();
            if (left.isEmpty()) {
                return;
            }
            final boolean gentle = round == 0;
            for (ProcessTable.Proc p : left) {
                System.err.println("[" + name() + "] " + (gentle ? "SIGTERM" : "SIGKILL") + " leftover " + p.pid()
                        + " " + p.cmdline());
                ProcessHandle.of(p.pid()).ifPresent(h -> {
                    h.descendants().forEach(ProcessHandle::destroyForcibly);
                    if (gentle) {
                        h.destroy();
                    } else {
                        h.destroyForcibly();
                    }
                });
            }
            LocalRegistry.sleep(2000);
        }
    }
}
