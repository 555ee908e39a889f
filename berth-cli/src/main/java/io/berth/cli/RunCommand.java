package io.berth.cli;

import io.berth.cri.api.AttachRequest;
import io.berth.cri.api.ContainerState;
import io.berth.cri.api.ContainerStatus;
import io.berth.cri.api.ContainerStatusRequest;
import io.berth.cri.api.CreateContainerRequest;
import io.berth.cri.api.ImageStatusRequest;
import io.berth.cri.api.RemovePodSandboxRequest;
import io.berth.cri.api.RunPodSandboxRequest;
import io.berth.cri.api.StartContainerRequest;
import io.berth.cri.api.StopPodSandboxRequest;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code berthctl run}: a one-shot pod and container, like {@code nerdctl run}; exits with the container's code. */
@Command(name = "run", description = "Run IMAGE [CMD...] in a new pod, print its output, exit with its exit code.")
final class RunCommand implements Callable<Integer> {

    @Spec CommandSpec spec;
    @Option(names = "--rm", description = "Stop and remove the pod afterwards (also on Ctrl-C).") boolean rm;
    @Option(names = {"-i", "--interactive"}, description = "Attach stdin.") boolean interactive;
    @Option(names = {"-t", "--tty"}, description = "Allocate a terminal.") boolean tty;
    @Option(names = "--name", description = "Pod and container name (default berthctl-run-<random>).") String name;
    @Option(names = "--runtime", paramLabel = "HANDLER", description = "Runtime handler (e.g. runc, crun).") String runtime;
    @Option(names = {"-e", "--env"}, paramLabel = "K=V", description = "Environment variable (repeatable).")
    List<String> env = new ArrayList<>();
    @Option(names = "--net", paramLabel = "host", description = "host: use the node's network namespace.") String net;
    @Option(names = "--entrypoint", paramLabel = "CMD", description = "Replace the image's ENTRYPOINT.") String entrypoint;
    @Option(names = {"-w", "--workdir"}, paramLabel = "DIR", description = "Working directory.") String workdir;
    @Parameters(index = "0", paramLabel = "IMAGE") String image;
    @Parameters(index = "1..*", arity = "0..*", paramLabel = "CMD") List<String> cmd = new ArrayList<>();

    RunPlan.Options options() {
        if (net != null && !net.equals("host") && !net.equals("pod")) {
            throw new CliException("--net takes host (or pod, the default)");
        }
        return new RunPlan.Options(image, cmd, entrypoint == null ? List.of() : List.of(entrypoint),
                name == null ? RunPlan.randomName(new SecureRandom()) : name, RunPlan.randomUid(), runtime,
                RunPlan.env(env, System::getenv), "host".equals(net), interactive, tty, Optional.ofNullable(workdir));
    }

    @Override
    public Integer call() throws IOException {
        RunPlan.Options o = options();
        try (CriClient client = Berthctl.connect(ImageCommands.PULL_TIMEOUT)) {
            PrintWriter err = spec.commandLine().getErr();
            boolean present = client.images().imageStatus(ImageStatusRequest.newBuilder()
                    .setImage(ImageCommands.spec(image)).build()).hasImage();
            if (!present) {
                ImageCommands.pull(client, image, Optional.empty(), new PullProgressView(err, Terminal.isTerminal()));
            }
            RunPodSandboxRequest sandbox = RunPlan.sandbox(o);
            // berthctl plays the kubelet here, and the kubelet creates (and later removes) the pod's log directory.
            Path logDir = Path.of(sandbox.getConfig().getLogDirectory());
            Files.createDirectories(logDir);
            String podId = client.runtime().runPodSandbox(sandbox).getPodSandboxId();
            AtomicBoolean cleaned = new AtomicBoolean();
            Runnable cleanup = () -> {
                if (rm && cleaned.compareAndSet(false, true)) {
                    client.runtime().stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
                    client.runtime().removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(podId).build());
                    deleteTree(logDir);
                }
            };
            Thread hook = new Thread(cleanup);
            Runtime.getRuntime().addShutdownHook(hook);
            try {
                CreateContainerRequest create = RunPlan.container(o, podId, sandbox.getConfig());
                String id = client.runtime().createContainer(create).getContainerId();
                client.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
                if (interactive || tty) {
                    String url = client.runtime().attach(AttachRequest.newBuilder().setContainerId(id)
                            .setStdin(interactive).setTty(tty).setStdout(true).setStderr(!tty).build()).getUrl();
                    RemoteCommand.run(url, interactive, tty);
                } else {
                    ContainerStatus status = status(client, id);
                    Path log = Path.of(status.getLogPath());
                    for (int i = 0; i < 50 && !Files.exists(log); i++) {
                        ContainerCommands.sleep(Duration.ofMillis(100));
                    }
                    if (Files.exists(log)) {
                        ContainerCommands.print(log, Optional.empty(), -1, true, false,
                                () -> status(client, id).getState() != ContainerState.CONTAINER_EXITED, System.out, System.err);
                    } else {
                        err.println("berthctl: no log file at " + log + "; waiting for the container to exit");
                        err.flush();
                    }
                }
                ContainerStatus last = status(client, id);
                while (last.getState() != ContainerState.CONTAINER_EXITED) {
                    ContainerCommands.sleep(Duration.ofMillis(200));
                    last = status(client, id);
                }
                if (!rm) {
                    err.println("pod " + podId + " (" + o.name() + ") kept; remove it with: berthctl rmp -f " + Units.shortId(podId));
                    err.flush();
                }
                return last.getExitCode();
            } finally {
                cleanup.run();
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException e) {
                    // already shutting down; cleanup ran above
                }
            }
        }
    }

    private static void deleteTree(Path dir) {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // the logs outlive a failed clean-up; nothing else depends on them
        }
    }

    private static ContainerStatus status(CriClient client, String id) {
        return client.runtime().containerStatus(ContainerStatusRequest.newBuilder().setContainerId(id).build()).getStatus();
    }
}
