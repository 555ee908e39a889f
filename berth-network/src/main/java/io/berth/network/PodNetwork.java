package io.berth.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.berth.core.BerthException;
import io.berth.core.Undo;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pod networking: network namespaces pinned under the state dir, and the CNI plugins of the configured network
 * (SPEC.md, https://github.com/containernetworking/cni/blob/main/SPEC.md) run for ADD, CHECK and DEL.
 *
 * <p>The chosen network is attached as {@code eth0}. The pod's {@code lo} is brought up by Berth itself when the
 * namespace is made (one ioctl, where containerd runs the CNI {@code loopback} plugin as a second network: a
 * process per pod for one flag). The config files are read at each {@link #setUp}, so a config installed after
 * start is picked up.
 *
 * <p>Every ADD is recorded in the cache dir before the first plugin runs and completed with the result after, so
 * {@link #tearDown} passes the same config, arguments and {@code prevResult} even after a restart or a config
 * change. Thread-safe; callers serialize calls for one sandbox.
 */
public final class PodNetwork {
  private static final Logger log = LoggerFactory.getLogger(PodNetwork.class);
  private static final Pattern SANDBOX_ID = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9_.\\-]{0,127}$");
  /** The interface name of the pod network inside the sandbox (CRI and containerd use eth0). */
  public static final String POD_INTERFACE = "eth0";
  static final String LOOPBACK_INTERFACE = "lo";

  /** A pinned network namespace of a sandbox. */
  public record NetNs(String sandboxId, Path path) {
    public NetNs {
      Objects.requireNonNull(sandboxId, "sandboxId");
      Objects.requireNonNull(path, "path");
    }
  }

  /** A CRI port mapping; {@code hostPort} 0 means none, {@code hostIp} empty means every address. */
  public record PortMapping(String protocol, int containerPort, int hostPort, String hostIp) {
    public PortMapping {
      protocol = protocol == null || protocol.isEmpty() ? "tcp" : protocol;
      hostIp = hostIp == null ? "" : hostIp;
    }
  }

  /**
   * What CNI needs to know about a pod. {@code netns} is required for {@link #setUp} and {@link #check}; for
   * {@link #tearDown} it may be empty or gone.
   */
  public record PodNetworkRequest(String sandboxId, String podName, String podNamespace, String podUid,
      Optional<NetNs> netns, List<PortMapping> portMappings, Map<String, String> annotations,
      Optional<String> cgroupParent) {
    public PodNetworkRequest {
      Objects.requireNonNull(sandboxId, "sandboxId");
      podName = podName == null ? "" : podName;
      podNamespace = podNamespace == null ? "" : podNamespace;
      podUid = podUid == null ? "" : podUid;
      netns = netns == null ? Optional.empty() : netns;
      portMappings = portMappings == null ? List.of() : List.copyOf(portMappings);
      annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
      cgroupParent = cgroupParent == null ? Optional.empty() : cgroupParent;
    }
  }

  /**
   * The pod's addresses after ADD: {@code ip} is the primary (IPv4 first), {@code rawResult} the last plugin's
   * stdout, {@code result} its parsed form.
   */
  public record PodNetworkStatus(String ip, List<String> additionalIps, String interfaceName, String rawResult,
      CniResult result) {
    public PodNetworkStatus {
      additionalIps = List.copyOf(additionalIps);
    }
  }

  /**
   * The kernel's counters of one interface in a pod's network namespace, as {@code /proc/net/dev} shows them
   * (cumulative since the interface was created).
   */
  public record InterfaceStats(String name, long rxBytes, long rxPackets, long rxErrors, long rxDropped, long txBytes,
      long txPackets, long txErrors, long txDropped) {}

  /** Whether pods can get a network (CRI {@code NetworkReady}), and why not. */
  public record Status(boolean ready, String reason, String message) {
    static Status ok() {
      return new Status(true, "", "");
    }
  }

  private final NetworkConfig config;
  private final NetnsPinner pinner;
  private final PluginInvoker invoker;
  private final PluginChain chain;
  private final ResultCache cache;

  private PodNetwork(NetworkConfig config) {
    this.config = config;
    this.pinner = new NetnsPinner(config.netnsDir());
    this.invoker = new PluginInvoker(config.pluginDirs(), config.pluginTimeout());
    this.chain = new PluginChain(invoker);
    this.cache = new ResultCache(config.cacheDir());
  }

  public static PodNetwork create(NetworkConfig config) {
    return new PodNetwork(Objects.requireNonNull(config));
  }

  public NetworkConfig config() {
    return config;
  }

  /**
   * Creates a network namespace for a sandbox, pinned by a bind mount at {@code netnsDir/<name>}, with its {@code lo}
   * up.
   */
  public NetNs createNetns(String sandboxId) {
    checkSandboxId(sandboxId);
    Path pin = pinner.create(pinName(sandboxId));
    log.debug("created netns {} for sandbox {}", pin, sandboxId);
    return new NetNs(sandboxId, pin);
  }

  /**
   * Pins an existing network namespace for a sandbox and brings its {@code lo} up, like {@link #createNetns}:
   * {@code nsFile} is its nsfs file ({@code /proc/PID/ns/net} of a process that made it, for a namespace owned by the
   * pod's user namespace).
   */
  public NetNs adoptNetns(String sandboxId, Path nsFile) {
    checkSandboxId(sandboxId);
    Path pin = pinner.adopt(pinName(sandboxId), nsFile);
    log.debug("pinned netns {} of {} for sandbox {}", pin, nsFile, sandboxId);
    return new NetNs(sandboxId, pin);
  }

  private static String pinName(String sandboxId) {
    String prefix = sandboxId.length() > 16 ? sandboxId.substring(0, 16) : sandboxId;
    byte[] rnd = new byte[4];
    ThreadLocalRandom.current().nextBytes(rnd);
    return "berth-" + prefix + "-" + HexFormat.of().formatHex(rnd);
  }

  /** Unmounts (lazily, MNT_DETACH) and deletes a pinned namespace. Idempotent. */
  public void removeNetns(NetNs ns) {
    pinner.remove(ns.path());
  }

  /**
   * Every file in the netns dir: the pins {@link #createNetns} made (with those a crash left unrecorded, or before
   * their mount), for the sweep at start.
   */
  public List<Path> netnsPins() {
    return pinner.list();
  }

  /** True when {@code pin} is named the way {@link #createNetns} names the pins of {@code sandboxId}. */
  public static boolean isPinOf(Path pin, String sandboxId) {
    return pin.getFileName().toString().startsWith("berth-" + pinPrefix(sandboxId) + "-");
  }

  private static String pinPrefix(String sandboxId) {
    return sandboxId.length() > 16 ? sandboxId.substring(0, 16) : sandboxId;
  }

  /**
   * Ids of the sandboxes with CNI attachments in the result cache (set up, or an ADD a crash cut short): what
   * {@link #tearDown} would DEL.
   */
  public List<String> cachedSandboxIds() {
    return cache.containerIds();
  }

  /** True when the namespace file exists and is still a mounted namespace. */
  public boolean netnsExists(NetNs ns) {
    return NetnsPinner.isPinned(ns.path());
  }

  /**
   * Attaches the pod to the network: CNI ADD of every plugin of the chosen network for {@code eth0}. On failure
   * everything added is deleted again (CNI DEL) before the error is thrown; if one of those DELs fails too, the
   * attachments stay recorded ({@link #hasAttachments}) so that {@link #tearDown} can release them later.
   *
   * @throws BerthException UNAVAILABLE when no network config exists or a plugin fails (the message names the
   *     plugin and carries its {@code msg}); INVALID_ARGUMENT for a broken config file or a plugin reporting a
   *     configuration error; ALREADY_EXISTS when the sandbox is set up already (an ADD that never finished, say
   *     after a crash, is deleted first and retried)
   */
  public PodNetworkStatus setUp(PodNetworkRequest req) {
    checkSandboxId(req.sandboxId());
    NetNs ns = req.netns().orElseThrow(() -> BerthException.invalidArgument(
        "sandbox %s: CNI setup needs a network namespace", req.sandboxId()));
    List<ResultCache.Entry> existing = cache.all(req.sandboxId());
    if (!existing.isEmpty()) {
      if (existing.stream().allMatch(e -> e.result().isPresent())) {
        // A second ADD would fail and its rollback would delete the working attachment.
        throw BerthException.alreadyExists("sandbox %s network is already set up", req.sandboxId());
      }
      log.info("sandbox {}: an earlier CNI ADD did not finish, deleting it before retrying", req.sandboxId());
      tearDown(req);
    }
    ConfList list = loadConfList();
    String args = CniArgs.cniArgs(req);
    ObjectNode caps = CniArgs.capabilityArgs(req);
    long start = System.nanoTime();
    boolean[] leftover = {false};
    try (Undo undo = new Undo()) {
      // Kept when a DEL of the rollback failed, so a later tearDown (StopPodSandbox, or the sweep at start) can run
      // it again with the same config instead of leaking the address or interface for good.
      undo.push("remove CNI cache of " + req.sandboxId(), () -> {
        if (leftover[0] || undo.failed()) {
          log.warn("sandbox {}: CNI rollback incomplete; its attachments stay recorded for a later DEL",
              req.sandboxId());
        } else {
          cache.removeAll(req.sandboxId());
        }
      });
      Attached eth;
      try {
        eth = attach(list, req.sandboxId(), ns, POD_INTERFACE, args, caps);
      } catch (RuntimeException e) {
        leftover[0] |= PluginChain.rollbackIncomplete(e);
        throw e;
      }
      undo.push(eth.undoName(), eth.undo());
      List<String> ips = eth.added().result().podIps(POD_INTERFACE);
      if (ips.isEmpty()) {
        throw BerthException.unavailable("network %s (%s) gave sandbox %s no IP address on %s", list.name(),
            list.source(), req.sandboxId(), POD_INTERFACE);
      }
      undo.commit();
      log.debug("CNI setup of sandbox {} on network {} gave {} in {} ms", req.sandboxId(), list.name(), ips,
          (System.nanoTime() - start) / 1_000_000);
      return new PodNetworkStatus(ips.getFirst(), ips.subList(1, ips.size()), POD_INTERFACE, eth.added().raw(),
          eth.added().result());
    } catch (BerthException e) {
      throw BerthException.wrap(e, "set up network of sandbox %s", req.sandboxId());
    }
  }

  /** A finished ADD and the DEL that takes it back. */
  private record Attached(PluginChain.Added added, String undoName, Undo.Action undo) {}

  private Attached attach(ConfList list, String id, NetNs ns, String ifName, String args, ObjectNode caps) {
    ResultCache.Entry pending =
        new ResultCache.Entry(id, ifName, ns.path().toString(), args, caps, list, Optional.empty());
    cache.put(pending);
    PluginInvoker.Call call = new PluginInvoker.Call(CniSpec.ADD, id, ns.path().toString(), ifName, args);
    PluginChain.Added added = chain.add(list, call, caps);
    JsonNode result = parse(added.raw());
    PluginInvoker.Call del = new PluginInvoker.Call(CniSpec.DEL, id, ns.path().toString(), ifName, args);
    cache.put(new ResultCache.Entry(id, ifName, pending.netns(), args, caps, list, Optional.of(result)));
    return new Attached(added, "CNI DEL " + list.name() + " " + ifName,
        () -> chain.del(list, del, caps, Optional.of(result)));
  }

  /** Whether CNI attachments of the sandbox are recorded: set up, or left by a setUp whose rollback failed. */
  public boolean hasAttachments(String sandboxId) {
    checkSandboxId(sandboxId);
    return !cache.all(sandboxId).isEmpty();
  }

  /**
   * Detaches the pod: CNI DEL of every network recorded for it, in reverse plugin order, with the cached config,
   * arguments and {@code prevResult}. Idempotent: a sandbox without a record (never set up, or already torn down)
   * is a no-op, and a missing namespace is passed as an empty {@code CNI_NETNS}, which the spec allows for DEL.
   *
   * @throws BerthException UNAVAILABLE when a plugin's DEL fails; the record is kept so a retry runs DEL again
   */
  public void tearDown(PodNetworkRequest req) {
    checkSandboxId(req.sandboxId());
    List<ResultCache.Entry> entries = cache.all(req.sandboxId());
    BerthException first = null;
    for (ResultCache.Entry e : entries) {
      String netns = req.netns().map(NetNs::path).filter(NetnsPinner::isPinned)
          .or(() -> Optional.of(Path.of(e.netns())).filter(p -> !e.netns().isEmpty() && NetnsPinner.isPinned(p)))
          .map(Path::toString).orElse("");
      PluginInvoker.Call call = new PluginInvoker.Call(CniSpec.DEL, req.sandboxId(), netns, e.ifName(), e.cniArgs());
      try {
        chain.del(e.list(), call, e.capabilityArgs(), e.result());
        cache.remove(req.sandboxId(), e.ifName());
      } catch (BerthException ex) {
        first = first == null ? ex : first;
      }
    }
    if (first != null) {
      throw BerthException.wrap(first, "tear down network of sandbox %s", req.sandboxId());
    }
    cache.removeAll(req.sandboxId());
    if (!entries.isEmpty()) {
      log.debug("CNI teardown of sandbox {} done", req.sandboxId());
    }
  }

  /**
   * CNI CHECK of every network recorded for the pod (skipped for configs older than 0.4.0 or with {@code
   * disableCheck}).
   *
   * @throws BerthException NOT_FOUND when the pod's network was never set up; UNAVAILABLE when a plugin reports
   *     a problem
   */
  public void check(PodNetworkRequest req) {
    checkSandboxId(req.sandboxId());
    List<ResultCache.Entry> entries = cache.all(req.sandboxId());
    if (entries.isEmpty()) {
      throw BerthException.notFound("sandbox %s has no CNI network set up", req.sandboxId());
    }
    for (ResultCache.Entry e : entries) {
      JsonNode result = e.result().orElseThrow(() -> BerthException.failedPrecondition(
          "sandbox %s: CNI ADD of %s on %s did not finish", req.sandboxId(), e.list().name(), e.ifName()));
      String netns = req.netns().map(n -> n.path().toString()).orElse(e.netns());
      PluginInvoker.Call call = new PluginInvoker.Call(CniSpec.CHECK, req.sandboxId(), netns, e.ifName(),
          e.cniArgs());
      try {
        chain.check(e.list(), call, e.capabilityArgs(), result);
      } catch (BerthException ex) {
        throw BerthException.wrap(ex, "check network of sandbox %s", req.sandboxId());
      }
    }
  }

  /**
   * The interface counters inside each of the given pinned network namespaces ({@code lo} included), read from the
   * kernel without running any process. Namespaces that cannot be entered are missing from the result. Thread-safe;
   * cost is one short-lived thread per call plus an open, a setns and a small read per namespace.
   */
  public Map<Path, List<InterfaceStats>> interfaceStats(Collection<Path> netns) {
    return NetDevReader.read(netns);
  }

  /** The pod's addresses as recorded by the last successful {@link #setUp}; survives a restart. */
  public Optional<PodNetworkStatus> cachedStatus(String sandboxId) {
    checkSandboxId(sandboxId);
    return cache.get(sandboxId, POD_INTERFACE).flatMap(e -> e.result().map(r -> {
      String raw = r.toString();
      CniResult parsed = CniResult.parse(raw);
      List<String> ips = parsed.podIps(POD_INTERFACE);
      return new PodNetworkStatus(ips.isEmpty() ? "" : ips.getFirst(),
          ips.isEmpty() ? List.of() : ips.subList(1, ips.size()), POD_INTERFACE, raw, parsed);
    }));
  }

  /** The name and source file of the network {@link #setUp} would use now. */
  public Optional<String> networkName() {
    return ConfList.load(config.confDirs(), config.networkName()).map(ConfList::name);
  }

  /**
   * Ready when a network config exists, parses, and every plugin it names is installed.
   * Never throws.
   */
  public Status status() {
    try {
      Optional<ConfList> list = ConfList.load(config.confDirs(), config.networkName());
      if (list.isEmpty()) {
        return new Status(false, "NetworkPluginNotReady", noConfigMessage());
      }
      for (String type : list.get().pluginTypes()) {
        if (invoker.find(type).isEmpty()) {
          return new Status(false, "NetworkPluginNotReady", String.format(
              "CNI plugin %s of network %s (%s) not found in %s", type, list.get().name(), list.get().source(),
              config.pluginDirs()));
        }
      }
      return Status.ok();
    } catch (BerthException e) {
      return new Status(false, "NetworkPluginNotReady", e.getMessage());
    }
  }

  private ConfList loadConfList() {
    return ConfList.load(config.confDirs(), config.networkName())
        .orElseThrow(() -> BerthException.unavailable("%s", noConfigMessage()));
  }

  private String noConfigMessage() {
    return config.networkName().isEmpty()
        ? String.format("no CNI network config found in %s", config.confDirs())
        : String.format("no CNI network named %s found in %s", config.networkName(), config.confDirs());
  }

  private static void checkSandboxId(String id) {
    if (id == null || !SANDBOX_ID.matcher(id).matches()) {
      throw BerthException.invalidArgument("invalid sandbox id %s", id);
    }
  }

  private static JsonNode parse(String raw) {
    try {
      return CniSpec.JSON.readTree(raw);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw BerthException.unavailable("CNI result is not JSON: %s", e.getOriginalMessage());
    }
  }
}
