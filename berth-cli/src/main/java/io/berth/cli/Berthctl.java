package io.berth.cli;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Optional;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * berthctl: an operator CLI over any CRI runtime socket (Berth, containerd, CRI-O). Each command parses its
 * arguments, calls the runtime and renders the answer; it has no runtime logic of its own.
 */
@Command(name = "berthctl", mixinStandardHelpOptions = true, scope = ScopeType.INHERIT,
        versionProvider = Berthctl.OwnVersion.class, usageHelpAutoWidth = true,
        description = "Talk to a CRI container runtime (Berth, containerd, CRI-O) over its socket.",
        subcommands = {
            RuntimeCommands.Version.class, RuntimeCommands.Info.class,
            ImageCommands.class,
            PodCommands.Pods.class, ContainerCommands.Ps.class,
            ContainerCommands.Inspect.class, PodCommands.Inspectp.class,
            ContainerCommands.Logs.class,
            ContainerCommands.Stop.class, ContainerCommands.Rm.class,
            PodCommands.Stopp.class, PodCommands.Rmp.class,
            ContainerCommands.Exec.class, ContainerCommands.Attach.class, PodCommands.PortForward.class,
            ContainerCommands.Stats.class, ContainerCommands.Events.class, PodCommands.Startup.class,
            PodCommands.Metrics.class,
            RunCommand.class,
            CommandLine.HelpCommand.class
        })
public final class Berthctl implements Runnable {

    /** Held so the level sticks: grpc-netty warns about socket options a unix socket has no use for. */
    private static final java.util.logging.Logger GRPC_LOG = java.util.logging.Logger.getLogger("io.grpc");

    private static String endpoint = Endpoint.DEFAULT;
    private static Optional<Duration> timeout = Optional.empty();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-r", "--endpoint"}, scope = ScopeType.INHERIT, paramLabel = "ENDPOINT",
            defaultValue = "${env:BERTH_ENDPOINT:-" + Endpoint.DEFAULT + "}",
            description = "CRI socket: unix:///path or /path (env BERTH_ENDPOINT; default ${DEFAULT-VALUE}).")
    void endpoint(String value) {
        endpoint = value;
    }

    @Option(names = "--timeout", scope = ScopeType.INHERIT, paramLabel = "DURATION",
            description = "RPC deadline, e.g. 30s, 2m (default 2m for pull and push, 30s for other calls, "
                    + "none for streams unless given).")
    void timeout(String value) {
        timeout = Optional.of(Units.parseDuration(value));
    }

    /** Runs berthctl and exits with its status. */
    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs berthctl and returns its exit status: 0 ok, 1 runtime or usage error, or a container's exit code. */
    public static int execute(String... args) {
        GRPC_LOG.setLevel(java.util.logging.Level.SEVERE);
        CommandLine cli = new CommandLine(new Berthctl());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("berthctl: " + describe(e));
            commandLine.getErr().flush();
            return 1;
        });
        // Everything after the container (exec) or image (run) belongs to the command run inside.
        cli.getSubcommands().get("exec").setStopAtPositional(true);
        cli.getSubcommands().get("run").setStopAtPositional(true);
        int code = cli.execute(args);
        cli.getOut().flush();
        cli.getErr().flush();
        return code;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Opens a client to the chosen endpoint; {@code defaultTimeout} applies when --timeout was not given. */
    static CriClient connect(Duration defaultTimeout) {
        return new CriClient(Endpoint.parse(endpoint), timeout, defaultTimeout);
    }

    static CriClient connect() {
        return connect(Duration.ofSeconds(30));
    }

    static Endpoint endpoint() {
        return Endpoint.parse(endpoint);
    }

    /** {@code <gRPC code>: <description>} for runtime errors, the message for berthctl's own. */
    static String describe(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof StatusRuntimeException sre) {
                Status s = sre.getStatus();
                String description = s.getDescription() == null ? "" : s.getDescription();
                if (s.getCode() == Status.Code.UNAVAILABLE && s.getCause() != null) {
                    description = "cannot connect to " + endpoint + ": " + s.getCause().getMessage();
                }
                return s.getCode() + ": " + description;
            }
            if (t instanceof CliException) {
                return t.getMessage();
            }
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    static PrintWriter out(CommandLine.Model.CommandSpec spec) {
        return spec.commandLine().getOut();
    }

    /** berthctl's own version, from the jar manifest when packaged. */
    static final class OwnVersion implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Berthctl.class.getPackage().getImplementationVersion();
            return new String[] {"berthctl " + (v == null ? "0.1.0-SNAPSHOT" : v)};
        }
    }
}
