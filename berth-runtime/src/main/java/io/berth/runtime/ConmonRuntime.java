package io.berth.runtime;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.core.BerthException;
import io.berth.core.ErrorKind;
import io.berth.linux.BlockingIo;
import io.berth.linux.SeqPacketSocket;
import io.berth.linux.Spawn;
import io.berth.linux.Syscalls;
import io.berth.oci.RuntimeSpec;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link OciRuntime} with one conmon per container, as CRI-O runs them.
 *
 * <p>Layout under the state dir: {@code exits/<id>} (conmon's exit file, for all handlers),
 * {@code containers/<id>/} (conmon's persist dir: {@code conmon.pid}, {@code exit}, {@code oom}, {@code bundle},
 * {@code handler}, {@code conmon.log}) and {@code sockets/} (conmon's attach socket links).
 *
 * <p>The create result travels over conmon's sync pipe ({@code _OCI_SYNCPIPE}), an inherited file descriptor that
 * {@link ProcessBuilder} cannot pass, so conmon is started with posix_spawn ({@link Spawn}), directly, with the
 * pipe's write end as fd 3. conmon's daemon child holds the only write end, so the read ends either with conmon's
 * JSON line ({@code {"data": pid}} or {@code {"data": -1, "message": "runtime stderr"}}) or with EOF when conmon
 * died.
 */
final class ConmonRuntime implements OciRuntime {
  private static final Logger log = LoggerFactory.getLogger(ConmonRuntime.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration STATS_TIMEOUT = Duration.ofSeconds(5);
  private static final long EXEC_BACKSTOP_SECONDS = 10;
  private static final int SIGKILL = 9;
  /** Marker in the persist dir: the container joins a gVisor sandbox. */
  private static final String SUBCONTAINER = "gvisor-subcontainer";
  /** conmon's whole environment: its sync pipe is {@link Spawn#PIPE_FD}. */
  private static final Map<String, String> CONMON_ENV = Map.of(
      "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "_OCI_SYNCPIPE", Integer.toString(Spawn.PIPE_FD));

  private final RuntimeHandler handler;
  private final Path conmon;
  private final Path stateDir;
  private final String cgroupDriver;
  private final Duration createTimeout;
  /** Present for gVisor's runsc: how a pod's sub-containers run under conmon (see {@link GvisorSandboxes}). */
  private final GvisorSandboxes gvisor;
  /** Run before every create and exec: each has the runtime move a process into a cgroup. */
  private final CgroupAttachPrimer primer;

  ConmonRuntime(RuntimeHandler handler, Path conmon, Path stateDir, String cgroupDriver, Duration createTimeout,
      boolean gvisor, CgroupAttachPrimer primer) {
    this.handler = handler;
    this.primer = primer;
    this.conmon = conmon;
    this.stateDir = stateDir;
    this.cgroupDriver = cgroupDriver;
    this.createTimeout = createTimeout;
    try {
      Files.createDirectories(exitsDir());
      Files.createDirectories(stateDir.resolve("containers"));
      Files.createDirectories(socketsDir());
      Files.createDirectories(handler.root());
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot create runtime state dirs under %s", stateDir);
    }
    this.gvisor = gvisor ? GvisorSandboxes.install(stateDir) : null;
  }

  @Override
  public RuntimeHandler handler() {
    return handler;
  }

  Path exitsDir() {
    return stateDir.resolve("exits");
  }

  Path socketsDir() {
    return stateDir.resolve("sockets");
  }

  Path persistDir(String id) {
    return stateDir.resolve("containers").resolve(id);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // create

  @Override
  public ContainerProcess create(String id, Path bundle, CreateOptions options) {
    checkId(id);
    if (!Files.isRegularFile(bundle.resolve("config.json"))) {
      throw BerthException.invalidArgument("bundle %s has no config.json", bundle);
    }
    Path persist = persistDir(id);
    if (Files.exists(persist)) {
      throw BerthException.alreadyExists("container %s exists", id);
    }
    primer.prime();
    RuntimeSpec gvisorSpec = gvisor != null ? RuntimeSpec.readFrom(bundle) : null;
    boolean subcontainer = gvisorSpec != null && GvisorSandboxes.isSubcontainer(gvisorSpec);
    List<String> sandboxArgs = gvisorSpec != null ? GvisorSandboxes.sandboxArgs(gvisorSpec, handler.extraArgs())
        : List.of();
    try {
      Files.createDirectories(persist);
      Files.writeString(persist.resolve("bundle"), bundle.toAbsolutePath().toString());
      Files.writeString(persist.resolve("handler"), handler.name());
      if (subcontainer) {
        Files.writeString(persist.resolve(SUBCONTAINER), "");
        GvisorSandboxes.prepare(persist);
      }
      Files.deleteIfExists(exitsDir().resolve(id));
      if (options.logPath() != null) {
        Files.createDirectories(options.logPath().toAbsolutePath().getParent());
      }
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot prepare conmon dir for %s", id);
    }
    List<String> args = conmonArgs(id, bundle.toAbsolutePath(), options, sandboxArgs, subcontainer);
    log.debug("starting conmon for {}: {}", id, args);
    String line;
    Spawn.Child child;
    try {
      child = Spawn.start(args, CONMON_ENV, persist, persist.resolve("conmon.log"));
    } catch (IOException e) {
      cleanupFailedCreate(id, persist);
      throw BerthException.failedPrecondition("cannot start conmon: %s", e.getMessage());
    }
    try {
      Future<List<String>> reply = readSyncLinesAsync(child.pipe(), 1);
      try {
        List<String> lines = reply.get(createTimeout.toMillis(), TimeUnit.MILLISECONDS);
        line = lines.isEmpty() ? null : lines.getFirst();
      } catch (TimeoutException e) {
        log.warn("container {}: no reply from conmon within {}", id, createTimeout);
        // Killing conmon closes the pipe's last write end, which ends the read.
        killConmon(persist);
        Syscalls.kill(child.pid(), SIGKILL);
        child.reap(Duration.ofSeconds(10));
        cleanupFailedCreate(id, persist);
        throw BerthException.deadlineExceeded("creating container %s took longer than %s", id, createTimeout);
      } catch (ExecutionException e) {
        child.reap(Duration.ofSeconds(10));
        cleanupFailedCreate(id, persist);
        throw BerthException.internal(e.getCause(), "cannot read conmon's reply for %s", id);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        killConmon(persist);
        Syscalls.kill(child.pid(), SIGKILL);
        child.reap(Duration.ofSeconds(10));
        cleanupFailedCreate(id, persist);
        throw BerthException.cancelled("create of %s interrupted", id);
      }
      // conmon's first process exits as soon as it has forked the monitor: collect it.
      child.reap(Duration.ofSeconds(10));
    } finally {
      closeQuietly(child.pipe());
    }

    int pid = -1;
    String message = null;
    if (line != null && !line.isBlank()) {
      try {
        JsonNode n = JSON.readTree(line);
        pid = n.path("data").asInt(-1);
        message = n.has("message") ? n.path("message").asText() : null;
      } catch (IOException e) {
        message = "unparsable reply from conmon: " + line;
      }
    }
    if (pid <= 0) {
      String detail = message != null ? message.strip() : "conmon exited without a reply; " + conmonLog(persist);
      cleanupFailedCreate(id, persist);
      throw BerthException.failedPrecondition("%s failed to create container %s: %s", handler.name(), id, detail);
    }
    int conmonPid = readInt(persist.resolve("conmon.pid"));
    log.debug("container {} created by {}: pid {}, conmon {}", id, handler.name(), pid, conmonPid);
    return new ContainerProcess(id, pid, conmonPid);
  }

  /**
   * conmon's command line, as CRI-O builds it (internal/oci/runtime_oci.go), for API version 1. A gVisor
   * sub-container is created through {@link GvisorSandboxes#adapter()}, which takes the runtime binary as its first
   * argument and writes its proxy's pid next to conmon's files. {@code sandboxArgs} follow the handler's arguments.
   */
  List<String> conmonArgs(String id, Path bundle, CreateOptions options, List<String> sandboxArgs,
      boolean gvisorSubcontainer) {
    Path persist = persistDir(id);
    List<String> a = new ArrayList<>();
    a.add(conmon.toString());
    a.add("--api-version");
    a.add("1");
    a.add("-c");
    a.add(id);
    a.add("-u");
    a.add(id);
    a.add("-n");
    a.add(id);
    a.add("-r");
    a.add(gvisorSubcontainer ? gvisor.adapter().toString() : handler.binary().toString());
    a.add("-b");
    a.add(bundle.toString());
    a.add("-p");
    a.add((gvisorSubcontainer ? persist : bundle).resolve("pidfile").toString());
    a.add("-P");
    a.add(persist.resolve("conmon.pid").toString());
    a.add("--persist-dir");
    a.add(persist.toString());
    a.add("--exit-dir");
    a.add(exitsDir().toString());
    a.add("--socket-dir-path");
    a.add(socketsDir().toString());
    a.add("-l");
    a.add("k8s-file:" + (options.logPath() == null ? "/dev/null" : options.logPath().toAbsolutePath()));
    a.add("--log-level");
    a.add(log.isDebugEnabled() ? "debug" : "info");
    if (gvisorSubcontainer) {
      a.add("--runtime-arg");
      a.add(handler.binary().toString());
    }
    for (String r : runtimeGlobalArgs()) {
      a.add("--runtime-arg");
      a.add(r);
    }
    for (String r : sandboxArgs) {
      a.add("--runtime-arg");
      a.add(r);
    }
    if ("systemd".equals(cgroupDriver)) {
      a.add("-s");
    }
    if (options.terminal()) {
      a.add("-t");
    }
    if (options.stdin()) {
      a.add("-i");
      if (!options.stdinOnce()) {
        a.add("--leave-stdin-open");
      }
    }
    return a;
  }

  private List<String> runtimeGlobalArgs() {
    List<String> a = new ArrayList<>();
    a.add("--root=" + handler.root());
    a.addAll(handler.extraArgs());
    return a;
  }

  private void cleanupFailedCreate(String id, Path persist) {
    try {
      RuntimeCommand.Result r = runtime(List.of("delete", "--force", id), null);
      if (!r.ok() && !notFound(r)) {
        log.warn("container {}: runtime delete after failed create: {}", id, r.message());
      }
    } catch (BerthException e) {
      // The runtime could not be run (its binary gone since the handler was probed) or did not finish: the rest of
      // the cleanup must happen all the same.
      log.warn("container {}: runtime delete after failed create: {}", id, e.getMessage());
    }
    if (isGvisorSubcontainer(persist)) {
      GvisorSandboxes.releaseUnstarted(id, persist);
    }
    killConmon(persist);
    removeCgroup(persist);
    deleteTree(persist);
    deleteQuietly(exitsDir().resolve(id));
    deleteQuietly(socketsDir().resolve(id));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // start, kill, stop

  @Override
  public void start(String id) {
    requireKnown(id);
    List<String> cmd = command(List.of("start", id));
    if (gvisor != null) {
      Path persist = persistDir(id);
      if (isGvisorSubcontainer(persist)) {
        GvisorSandboxes.start(id, persist, createTimeout);
        return;
      }
      RuntimeSpec spec = RuntimeSpec.readFrom(bundle(id));
      cmd = new ArrayList<>(command(GvisorSandboxes.sandboxArgs(spec, handler.extraArgs())));
      cmd.addAll(List.of("start", id));
      if (GvisorSandboxes.ownNetns(spec).isPresent()) {
        cmd = GvisorSandboxes.withNetnsGuard(cmd);
      }
    }
    RuntimeCommand.Result r = RuntimeCommand.run(cmd, null, COMMAND_TIMEOUT);
    if (!r.ok()) {
      throw failure(r, "start container %s", id);
    }
  }

  /** A container that joins a gVisor sandbox, run by conmon through the adapter's proxy. */
  private boolean isGvisorSubcontainer(Path persist) {
    return gvisor != null && Files.exists(persist.resolve(SUBCONTAINER));
  }

  @Override
  public void kill(String id, int signal, boolean all) {
    requireKnown(id);
    List<String> cmd = new ArrayList<>(List.of("kill"));
    if (all) {
      cmd.add("--all");
    }
    cmd.add(id);
    cmd.add(Integer.toString(signal));
    RuntimeCommand.Result r = runtime(cmd, null);
    if (!r.ok()) {
      throw failure(r, "signal %d to container %s", signal, id);
    }
  }

  @Override
  public void stop(String id, int signal, Duration timeout) {
    ContainerState s = state(id);
    if (s.status() == ContainerState.Status.STOPPED) {
      awaitExit(id, Duration.ofSeconds(10));
      return;
    }
    if (signal != SIGKILL && timeout.isPositive()) {
      if (trySignal(id, signal) && awaitExit(id, timeout)) {
        return;
      }
    }
    trySignal(id, SIGKILL);
    if (!awaitExit(id, Duration.ofSeconds(30))) {
      trySignal(id, SIGKILL);
      throw BerthException.deadlineExceeded("container %s did not exit after SIGKILL", id);
    }
  }

  /** Signals, ignoring "not running": the container may have exited meanwhile. */
  private boolean trySignal(String id, int signal) {
    RuntimeCommand.Result r = runtime(List.of("kill", id, Integer.toString(signal)), null);
    if (!r.ok()) {
      log.debug("container {}: kill {}: {}", id, signal, r.message());
    }
    return r.ok();
  }

  @Override
  public boolean awaitExit(String id, Duration timeout) {
    Path exit = exitsDir().resolve(id);
    Path persist = persistDir(id);
    int conmonPid = readIntQuietly(persist.resolve("conmon.pid"));
    long deadline = System.nanoTime() + timeout.toNanos();
    long sleep = 2;
    while (true) {
      if (Files.exists(exit)) {
        return true;
      }
      if (!Files.exists(persist)) {
        throw BerthException.notFound("container %s", id);
      }
      if (conmonPid > 0 && !ProcStat.alive(conmonPid)) {
        // conmon is gone without an exit file (killed): the runtime has the last word.
        return Files.exists(exit) || runtimeStatus(id).map(st -> st.equals("stopped")).orElse(true);
      }
      if (System.nanoTime() - deadline > 0) {
        return false;
      }
      sleepMillis(sleep);
      sleep = Math.min(sleep * 2, 50);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // delete, state, list

  @Override
  public void delete(String id, boolean force) {
    checkId(id);
    Path persist = persistDir(id);
    List<String> cmd = new ArrayList<>(List.of("delete"));
    if (force) {
      cmd.add("--force");
    }
    cmd.add(id);
    RuntimeCommand.Result r = runtime(cmd, null);
    if (!r.ok() && !notFound(r)) {
      throw failure(r, "delete container %s", id);
    }
    if (isGvisorSubcontainer(persist)) {
      GvisorSandboxes.releaseUnstarted(id, persist);
    }
    // conmon exits on its own once the container is gone; make sure no monitor outlives its container.
    int conmonPid = readIntQuietly(persist.resolve("conmon.pid"));
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (conmonPid > 0 && ProcStat.alive(conmonPid) && System.nanoTime() - deadline < 0) {
      sleepMillis(10);
    }
    if (conmonPid > 0 && ProcStat.alive(conmonPid)) {
      log.warn("container {}: conmon {} still alive after delete, killing it", id, conmonPid);
      Syscalls.kill(conmonPid, SIGKILL);
    }
    removeCgroup(persist);
    Path bundleFile = persist.resolve("bundle");
    if (Files.exists(bundleFile)) {
      try {
        Path bundle = Path.of(Files.readString(bundleFile).strip());
        for (String f : List.of("ctl", "winsz", "pidfile", "attach")) {
          deleteQuietly(bundle.resolve(f));
        }
      } catch (IOException e) {
        log.debug("container {}: cannot read bundle path", id);
      }
    }
    deleteTree(persist);
    deleteQuietly(exitsDir().resolve(id));
    deleteQuietly(socketsDir().resolve(id));
  }

  @Override
  public boolean exitRecorded(String id) {
    checkId(id);
    return Files.exists(exitsDir().resolve(id));
  }

  @Override
  public ContainerState state(String id) {
    checkId(id);
    Path persist = persistDir(id);
    Path exit = exitsDir().resolve(id);
    RuntimeCommand.Result r = runtime(List.of("state", id), null);
    if (!r.ok()) {
      if (Files.exists(exit)) {
        return stopped(id, Instant.EPOCH, exit, persist);
      }
      if (notFound(r) || !Files.exists(persist)) {
        throw BerthException.notFound("container %s", id);
      }
      throw failure(r, "state of container %s", id);
    }
    JsonNode n;
    try {
      n = JSON.readTree(r.stdout());
    } catch (IOException e) {
      throw BerthException.internal(e, "bad state JSON from %s", handler.name());
    }
    Instant created = parseInstant(n.path("created").asText(""));
    String status = n.path("status").asText("");
    int pid = n.path("pid").asInt(0);
    return switch (status) {
      case "created" -> new ContainerState(id, ContainerState.Status.CREATED, pid, created, null, -1, false);
      case "running" -> new ContainerState(id, ContainerState.Status.RUNNING, pid, created, null, -1, false);
      case "paused" -> new ContainerState(id, ContainerState.Status.PAUSED, pid, created, null, -1, false);
      case "stopped" -> {
        if (!Files.exists(exit)) {
          // The runtime saw the exit before conmon wrote it down: give conmon a moment.
          awaitExit(id, Duration.ofSeconds(5));
        }
        yield stopped(id, created, exit, persist);
      }
      default -> throw BerthException.internal("unknown status %s from %s", status, handler.name());
    };
  }

  private ContainerState stopped(String id, Instant created, Path exit, Path persist) {
    int code = -1;
    Instant finished = null;
    if (Files.exists(exit)) {
      code = readIntQuietly(exit);
      try {
        finished = Files.getLastModifiedTime(exit).toInstant();
      } catch (IOException e) {
        finished = Instant.now();
      }
    }
    boolean oom = Files.exists(persist.resolve("oom"));
    return new ContainerState(id, ContainerState.Status.STOPPED, 0, created, finished, code, oom);
  }

  private java.util.Optional<String> runtimeStatus(String id) {
    RuntimeCommand.Result r = runtime(List.of("state", id), null);
    if (!r.ok()) {
      return java.util.Optional.empty();
    }
    try {
      return java.util.Optional.of(JSON.readTree(r.stdout()).path("status").asText(""));
    } catch (IOException e) {
      return java.util.Optional.empty();
    }
  }

  /**
   * {@inheritDoc} A conmon dir without its {@code handler} file (a create cut short before it was written), or an
   * exit file or socket link left without a conmon dir (a delete cut short), belongs to no handler: every handler
   * lists it, and any can delete it.
   */
  @Override
  public List<String> list() {
    TreeSet<String> ids = new TreeSet<>();
    try {
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(stateDir.resolve("containers"))) {
        for (Path p : ds) {
          Path h = p.resolve("handler");
          if (!Files.exists(h) || Files.readString(h).strip().equals(handler.name())) {
            ids.add(p.getFileName().toString());
          }
        }
      }
      for (Path dir : List.of(exitsDir(), socketsDir())) {
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
          for (Path p : ds) {
            if (!Files.exists(persistDir(p.getFileName().toString()), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
              ids.add(p.getFileName().toString());
            }
          }
        }
      }
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot list %s", stateDir);
    }
    RuntimeCommand.Result r = runtime(List.of("list"), null);
    if (r.ok()) {
      String[] lines = r.stdout().split("\n");
      for (int i = 1; i < lines.length; i++) {
        String first = lines[i].strip().split("\\s+")[0];
        if (!first.isEmpty()) {
          ids.add(first);
        }
      }
    }
    return new ArrayList<>(ids);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // exec, update, logs

  /** The container's own process settings with {@code command} as the arguments, for an exec. */
  private RuntimeSpec.Process execProcess(String id, List<String> command) {
    RuntimeSpec.Process base = RuntimeSpec.readFrom(bundle(id)).process();
    return new RuntimeSpec.Process(false, base.user(), List.copyOf(command), base.env(), base.cwd(),
        base.capabilities(), base.rlimits(), base.noNewPrivileges(), base.oomScoreAdj(), base.apparmorProfile(),
        base.selinuxLabel());
  }

  @Override
  public ExecSession exec(String id, List<String> command, boolean tty, int columns, int rows) {
    if (command.isEmpty()) {
      throw BerthException.invalidArgument("exec needs a command");
    }
    if (state(id).status() != ContainerState.Status.RUNNING) {
      throw BerthException.failedPrecondition("container %s is not running", id);
    }
    Path dir = persistDir(id).resolve("stream-" + UUID.randomUUID().toString().replace("-", "").substring(0, 12));
    try {
      com.fasterxml.jackson.databind.node.ObjectNode process = JSON.valueToTree(execProcess(id, command));
      process.put("terminal", tty);
      if (tty && columns > 0 && rows > 0) {
        process.putObject("consoleSize").put("height", rows).put("width", columns);
      }
      Files.createDirectories(dir);
      Files.writeString(dir.resolve("process.json"), JSON.writeValueAsString(process));
    } catch (IOException e) {
      deleteTree(dir);
      throw BerthException.internal(e, "cannot prepare exec in %s", id);
    }
    List<String> runtimeArgv = new ArrayList<>();
    runtimeArgv.add(handler.binary().toString());
    runtimeArgv.addAll(runtimeGlobalArgs());
    primer.prime();
    return ExecSession.start(runtimeArgv, id, dir, tty, gvisor == null, columns, rows);
  }

  /**
   * Runs the command under a second conmon in exec mode, as CRI-O's ExecSync does. A plain {@code runc exec}
   * cannot be used: it copies the process's output through pipes of its own and waits for their EOF, so it hangs
   * while any background child of the command holds them. conmon runs {@code runtime exec --detach} as a
   * subreaper, stops reading once the exec'd process exits, drains what is buffered, records the output in a
   * CRI-format log and reports pid and exit code on the sync pipe; {@code -T} kills the command at the timeout.
   * Only the first {@code maxOutputBytes} of each stream are kept in memory (CVE-2022-31030).
   */
  @Override
  public ExecResult execSync(String id, List<String> command, Duration timeout, long maxOutputBytes) {
    if (command.isEmpty()) {
      throw BerthException.invalidArgument("exec needs a command");
    }
    ContainerState s = state(id);
    if (s.status() != ContainerState.Status.RUNNING) {
      throw BerthException.failedPrecondition("container %s is not running", id);
    }
    primer.prime();
    String tag = "exec-" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    Path dir = persistDir(id).resolve(tag);
    try {
      Files.createDirectories(dir.resolve("exits"));
      Files.writeString(dir.resolve("process.json"), JSON.writeValueAsString(execProcess(id, command)));
      List<String> args = new ArrayList<>(List.of(conmon.toString(), "--api-version", "1", "-c", id, "-u", tag, "-r",
          handler.binary().toString(), "-p", dir.resolve("pid").toString(), "-P", dir.resolve("conmon.pid").toString(),
          "--exit-dir", dir.resolve("exits").toString(), "-l", "k8s-file:" + dir.resolve("output.log"),
          "--log-level", "info", "-e", "--exec-process-spec", dir.resolve("process.json").toString()));
      for (String r : runtimeGlobalArgs()) {
        args.add("--runtime-arg");
        args.add(r);
      }
      long seconds = 0;
      if (timeout.isPositive()) {
        seconds = Math.max(1, (timeout.toMillis() + 999) / 1000);
        // Only a backstop (berthd gone): conmon's own timeout kills the command and exits without reaping it, so
        // it lingers as a zombie visible in the container until the host's PID 1 gets to it. berthd kills it at
        // the timeout instead (below), and conmon, its parent, reaps it before reporting.
        args.add("-T");
        args.add(Long.toString(seconds + EXEC_BACKSTOP_SECONDS));
      }
      List<String> replies;
      boolean killedAtTimeout = false;
      Spawn.Child child = Spawn.start(args, CONMON_ENV, dir, dir.resolve("conmon.log"));
      try {
        Future<List<String>> f = readSyncLinesAsync(child.pipe(), 2);
        Duration guard = seconds > 0 ? Duration.ofSeconds(seconds + 30) : Duration.ofDays(365);
        try {
          if (timeout.isPositive()) {
            try {
              replies = f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
              killedAtTimeout = killExecProcess(dir.resolve("pid"));
              replies = f.get(guard.toMillis(), TimeUnit.MILLISECONDS);
            }
          } else {
            replies = f.get(guard.toMillis(), TimeUnit.MILLISECONDS);
          }
        } catch (TimeoutException e) {
          int pid = readIntQuietly(dir.resolve("pid"));
          if (pid > 0) {
            Syscalls.kill(pid, SIGKILL);
          }
          killConmon(dir); // closes the pipe's last write end, which ends the read
          f.cancel(true);
          replies = List.of();
        } catch (ExecutionException e) {
          throw BerthException.internal(e.getCause(), "cannot read exec reply for %s", id);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          killConmon(dir);
          throw BerthException.cancelled("exec in %s interrupted", id);
        }
      } finally {
        closeQuietly(child.pipe());
        child.reap(Duration.ofSeconds(10));
      }
      int pid = -1;
      int exitCode = -1;
      String message = null;
      for (int i = 0; i < replies.size(); i++) {
        JsonNode n = JSON.readTree(replies.get(i));
        int data = n.path("data").asInt(-1);
        if (n.has("message")) {
          message = n.path("message").asText();
        }
        if (i == 0) {
          pid = data;
        } else {
          exitCode = data;
        }
      }
      if (pid <= 0) {
        String detail = message != null ? message.strip() : "conmon exited without a reply; " + conmonLog(dir);
        throw BerthException.failedPrecondition("%s failed to exec in container %s: %s", handler.name(), id, detail);
      }
      boolean timedOut = killedAtTimeout
          || exitCode < 0 && (message == null || message.contains("timed out") || replies.size() < 2);
      ExecOutput out = ExecOutput.parse(dir.resolve("output.log"), maxOutputBytes);
      return new ExecResult(timedOut ? 137 : exitCode, out.stdout(), out.stderr(), timedOut, out.truncated());
    } catch (IOException e) {
      throw BerthException.internal(e, "exec in container %s", id);
    } finally {
      killConmon(dir);
      deleteTree(dir);
    }
  }

  /**
   * SIGKILL to an exec'd command that outlived its timeout, and to its process group when it leads one (as conmon's
   * own timeout does); false when it is gone already or its pid is not known yet.
   */
  private static boolean killExecProcess(Path pidFile) {
    int pid = readIntQuietly(pidFile);
    if (!ProcStat.alive(pid)) {
      return false;
    }
    return ProcStat.pgrp(pid) == pid ? Syscalls.kill(-pid, SIGKILL) : Syscalls.kill(pid, SIGKILL);
  }

  /**
   * Reads the sync pipe on a thread of its own that nobody joins: should a killed conmon leave a write end open
   * somewhere, that reader stays blocked, not the call that gave up on it. A platform thread (see BlockingIo): the
   * read blocks in the kernel for as long as the runtime takes.
   */
  private static Future<List<String>> readSyncLinesAsync(InputStream sync, int max) {
    return BlockingIo.submit(() -> readSyncLines(sync, max));
  }

  /** Up to {@code max} lines from conmon's sync pipe, until its EOF. */
  private static List<String> readSyncLines(InputStream sync, int max) throws IOException {
    List<String> lines = new ArrayList<>();
    try (InputStream in = new java.io.BufferedInputStream(sync)) {
      java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
      int c;
      while (lines.size() < max && (c = in.read()) >= 0) {
        if (c == '\n') {
          lines.add(b.toString(StandardCharsets.UTF_8));
          b.reset();
        } else if (b.size() < 64 * 1024) {
          b.write(c);
        }
      }
    }
    return lines;
  }

  @Override
  public void updateResources(String id, RuntimeSpec.Resources resources) {
    requireKnown(id);
    byte[] body = RuntimeSpec.resourcesJson(resources).getBytes(StandardCharsets.UTF_8);
    RuntimeCommand.Result r = runtime(List.of("update", "--resources", "-", id), body);
    if (!r.ok()) {
      throw failure(r, "update resources of container %s", id);
    }
  }

  @Override
  public void reopenLog(String id) {
    // conmon's control FIFO: "<type> <height> <width>\n", type 2 = reopen log files (conmon src/ctrl.c).
    control(id, "2 0 0\n", "reopen log");
  }

  @Override
  public void resizeTerminal(String id, int width, int height) {
    // type 1 = resize the terminal (conmon src/ctrl.c), as CRI-O's ResizeWindow
    control(id, "1 " + height + " " + width + "\n", "resize");
  }

  private void control(String id, String message, String what) {
    Path ctl = bundle(id).resolve("ctl");
    int conmonPid = readIntQuietly(persistDir(id).resolve("conmon.pid"));
    if (!ProcStat.alive(conmonPid) || !Files.exists(ctl)) {
      throw BerthException.failedPrecondition("container %s has no running conmon", id);
    }
    // Opening a FIFO blocks until it has a reader: on a platform thread (see BlockingIo).
    Future<?> f = BlockingIo.submit(() -> {
      try (FileOutputStream o = new FileOutputStream(ctl.toFile())) {
        o.write(message.getBytes(StandardCharsets.US_ASCII));
      }
      return null;
    });
    try {
      f.get(5, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      releaseFifoWriter(ctl); // nobody reads the FIFO
      throw BerthException.failedPrecondition("conmon of container %s does not read its control FIFO", id);
    } catch (ExecutionException e) {
      throw BerthException.internal(e.getCause(), "cannot write to %s", ctl);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw BerthException.cancelled("%s of %s interrupted", what, id);
    }
  }

  /**
   * conmon's attach socket ({@code bundle/attach}, SOCK_SEQPACKET; conmon src/conn_sock.c): each packet from conmon
   * is one read of the container's output, its first byte 2 (stdout) or 3 (stderr); what we send goes to the
   * container's stdin as is, and our end of file closes it when conmon runs with {@code -i} and without
   * {@code --leave-stdin-open}. Both directions run on platform threads: the socket calls block in native code.
   */
  @Override
  public void attach(String id, InputStream stdin, java.io.OutputStream stdout, java.io.OutputStream stderr)
      throws IOException {
    requireKnown(id);
    Path socket = bundle(id).resolve("attach");
    if (!ProcStat.alive(readIntQuietly(persistDir(id).resolve("conmon.pid"))) || !Files.exists(socket)) {
      throw BerthException.failedPrecondition("container %s has no running conmon to attach to", id);
    }
    SeqPacketSocket s = SeqPacketSocket.connect(socket);
    String name = "attach-" + id.substring(0, Math.min(12, id.length()));
    // the fd is closed by whichever side finishes last, so that it is never reused under a running send
    java.util.concurrent.atomic.AtomicInteger users = new java.util.concurrent.atomic.AtomicInteger(stdin != null ? 2 : 1);
    if (stdin != null) {
      // not joined: it ends when the caller closes stdin after we return
      Thread.ofPlatform().daemon().name(name + "-in").start(() -> {
        byte[] buf = new byte[8192]; // conmon reads at most 32 KiB per packet
        try {
          int n;
          while ((n = stdin.read(buf)) >= 0) {
            if (n > 0) {
              s.send(buf, 0, n);
            }
          }
          s.shutdownOutput();
        } catch (IOException e) {
          // the client or conmon went away
        } finally {
          if (users.decrementAndGet() == 0) {
            s.close();
          }
        }
      });
    }
    Thread out = Thread.ofPlatform().daemon().name(name + "-out").start(() -> {
      byte[] buf = new byte[64 * 1024];
      try {
        int n;
        while ((n = s.receive(buf)) > 0) {
          java.io.OutputStream o = buf[0] == 3 ? stderr : buf[0] == 2 ? stdout : null;
          if (o != null && n > 1) {
            o.write(buf, 1, n - 1);
            o.flush();
          }
        }
      } catch (IOException e) {
        log.debug("container {}: attach output ended: {}", id, e.toString());
      }
    });
    try {
      out.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      s.shutdown();
      joinQuietly(out);
      if (users.decrementAndGet() == 0) {
        s.close();
      }
    }
  }

  private static void joinQuietly(Thread t) {
    boolean interrupted = false;
    while (true) {
      try {
        t.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  /** Whether conmon still watches this container. */
  boolean conmonAlive(String id) {
    return ProcStat.alive(readIntQuietly(persistDir(id).resolve("conmon.pid")));
  }

  // ---------------------------------------------------------------------------------------------------------------
  // helpers

  /** gVisor: {@code runsc events --stats}, the runc-style stats event read from inside the sandbox. */
  @Override
  public java.util.Optional<SandboxedStats> sandboxedStats(String id) {
    if (gvisor == null) {
      return java.util.Optional.empty();
    }
    checkId(id);
    RuntimeCommand.Result r = RuntimeCommand.run(command(List.of("events", "--stats", id)), null, STATS_TIMEOUT);
    if (!r.ok()) {
      log.debug("container {}: no stats from {}: {}", id, handler.name(), r.message());
      return java.util.Optional.empty();
    }
    try {
      JsonNode data = JSON.readTree(r.stdout()).path("data");
      if (data.isMissingNode()) {
        return java.util.Optional.empty();
      }
      return java.util.Optional.of(new SandboxedStats(data.path("cpu").path("usage").path("total").asLong(0),
          data.path("memory").path("usage").path("usage").asLong(0), data.path("pids").path("current").asLong(0)));
    } catch (IOException e) {
      log.debug("container {}: unreadable stats from {}: {}", id, handler.name(), e.getMessage());
      return java.util.Optional.empty();
    }
  }

  private RuntimeCommand.Result runtime(List<String> sub, byte[] stdin) {
    return RuntimeCommand.run(command(sub), stdin, COMMAND_TIMEOUT);
  }

  private List<String> command(List<String> sub) {
    List<String> cmd = new ArrayList<>();
    cmd.add(handler.binary().toString());
    cmd.addAll(runtimeGlobalArgs());
    cmd.addAll(sub);
    return cmd;
  }

  private Path bundle(String id) {
    try {
      return Path.of(Files.readString(persistDir(id).resolve("bundle")).strip());
    } catch (NoSuchFileException e) {
      throw BerthException.notFound("container %s", id);
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot read bundle path of %s", id);
    }
  }

  private void requireKnown(String id) {
    checkId(id);
    if (!Files.exists(persistDir(id))) {
      throw BerthException.notFound("container %s", id);
    }
  }

  private static void checkId(String id) {
    if (id == null || !id.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")) {
      throw BerthException.invalidArgument("invalid container id %s", id);
    }
  }

  private static boolean notFound(RuntimeCommand.Result r) {
    String m = r.message().toLowerCase(java.util.Locale.ROOT);
    return m.contains("does not exist") || m.contains("not found") || m.contains("no such file");
  }

  private BerthException failure(RuntimeCommand.Result r, String format, Object... args) {
    String what = String.format(format, args);
    if (notFound(r)) {
      return BerthException.notFound("%s: %s", what, r.message());
    }
    String m = r.message().toLowerCase(java.util.Locale.ROOT);
    if (m.contains("not running") || m.contains("cannot start") || m.contains("is not in created state")
        || m.contains("stopped")) {
      return BerthException.failedPrecondition("%s: %s", what, r.message());
    }
    return new BerthException(ErrorKind.FAILED_PRECONDITION, handler.name() + ": " + what + ": " + r.message());
  }

  private static void closeQuietly(InputStream in) {
    try {
      in.close();
    } catch (IOException e) {
      // a pipe's read end: nothing to flush, nothing lost
    }
  }

  private void killConmon(Path persist) {
    int pid = readIntQuietly(persist.resolve("conmon.pid"));
    if (pid > 0 && ProcStat.alive(pid)) {
      Syscalls.kill(pid, SIGKILL);
    }
  }

  /** Removes the container's cgroup directories if the runtime left them behind (cgroupfs driver only). */
  private void removeCgroup(Path persist) {
    if (!"cgroupfs".equals(cgroupDriver)) {
      return;
    }
    String cgroupsPath;
    try {
      Path bundle = Path.of(Files.readString(persist.resolve("bundle")).strip());
      cgroupsPath = RuntimeSpec.readFrom(bundle).linux().cgroupsPath();
    } catch (IOException | RuntimeException e) {
      return;
    }
    if (cgroupsPath == null || cgroupsPath.isEmpty() || cgroupsPath.contains("..")) {
      return;
    }
    Cgroups.removeEverywhere(cgroupsPath);
  }

  private static String conmonLog(Path persist) {
    try {
      String s = Files.readString(persist.resolve("conmon.log")).strip();
      return s.length() > 2000 ? s.substring(s.length() - 2000) : s;
    } catch (IOException e) {
      return "";
    }
  }

  private static int readInt(Path p) {
    int v = readIntQuietly(p);
    if (v < 0) {
      throw BerthException.internal("cannot read %s", p);
    }
    return v;
  }

  static int readIntQuietly(Path p) {
    try {
      return Integer.parseInt(Files.readString(p).strip());
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }

  private static Instant parseInstant(String s) {
    try {
      return Instant.parse(s);
    } catch (RuntimeException e) {
      return Instant.EPOCH;
    }
  }

  private static void sleepMillis(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw BerthException.cancelled("interrupted");
    }
  }

  /** Lets our blocked open(2) of a FIFO's write end return, by opening its read end once. */
  static void releaseFifoWriter(Path fifo) {
    BlockingIo.execute(() -> {
      try (FileInputStream in = new FileInputStream(fifo.toFile())) {
        in.available();
      } catch (IOException e) {
        // gone
      }
    });
  }

  static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      log.debug("cannot delete {}: {}", p, e.getMessage());
    }
  }

  static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (var walk = Files.walk(dir)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(ConmonRuntime::deleteQuietly);
    } catch (IOException e) {
      log.warn("cannot remove {}: {}", dir, e.getMessage());
    }
  }
}
