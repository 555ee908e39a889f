package io.berth.daemon;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;

/**
 * berthd's configuration: one TOML file, every key optional, every default written here and in
 * {@code docs/config.md}. Keys are snake_case as in containerd's config.toml. Unknown keys are rejected at start.
 */
public record BerthdConfig(
    @JsonProperty("root") String root,
    @JsonProperty("state") String state,
    @JsonProperty("grpc") Grpc grpc,
    @JsonProperty("log") Log log,
    @JsonProperty("image") Image image,
    @JsonProperty("registry") Registry registry,
    @JsonProperty("runtime") Runtime runtime,
    @JsonProperty("network") Network network,
    @JsonProperty("pod") Pod pod,
    @JsonProperty("streaming") Streaming streaming,
    @JsonProperty("metrics") Metrics metrics) {

  public static final String DEFAULT_ROOT = "/var/lib/berth";
  public static final String DEFAULT_STATE = "/run/berth";

  public BerthdConfig {
    root = orDefault(root, DEFAULT_ROOT);
    state = orDefault(state, DEFAULT_STATE);
    grpc = grpc == null ? new Grpc(null, null, null) : grpc;
    log = log == null ? new Log(null, null) : log;
    image = image == null ? new Image(null, null, null, null) : image;
    registry = registry == null ? new Registry(null, null, null, null) : registry;
    runtime = runtime == null ? new Runtime(null, null, null, null, null, null, null) : runtime;
    network = network == null ? new Network(null, null, null, null) : network;
    pod = pod == null ? new Pod(null, null, null, null) : pod;
    streaming = streaming == null ? new Streaming(null, null, null) : streaming;
    metrics = metrics == null ? new Metrics(null, null) : metrics;
  }

  /** All defaults: what berthd runs with when no file is given. */
  public static BerthdConfig defaults() {
    return new BerthdConfig(null, null, null, null, null, null, null, null, null, null, null);
  }

  /** The CRI socket. */
  public record Grpc(
      @JsonProperty("address") String address,
      @JsonProperty("gid") Integer gid,
      @JsonProperty("max_recv_message_size") Integer maxRecvMessageSize) {
    public Grpc {
      address = orDefault(address, DEFAULT_STATE + "/berth.sock");
      gid = gid == null ? 0 : gid;
      maxRecvMessageSize = maxRecvMessageSize == null ? 16 * 1024 * 1024 : maxRecvMessageSize;
      Checks.positive("grpc.max_recv_message_size", maxRecvMessageSize);
      Checks.nonNegative("grpc.gid", gid);
    }
  }

  /** Logging: level is one of trace, debug, info, warn, error; format text or json. */
  public record Log(@JsonProperty("level") String level, @JsonProperty("format") String format) {
    public Log {
      level = orDefault(level, "info");
      format = orDefault(format, "text");
      Checks.oneOf("log.level", level, "trace", "debug", "info", "warn", "error");
      Checks.oneOf("log.format", format, "text");
    }
  }

  /** The image service. */
  public record Image(
      @JsonProperty("max_concurrent_downloads") Integer maxConcurrentDownloads,
      @JsonProperty("stall_timeout") String stallTimeout,
      @JsonProperty("platform") String platform,
      @JsonProperty("max_manifest_bytes") Integer maxManifestBytes) {
    public Image {
      maxConcurrentDownloads = maxConcurrentDownloads == null ? 4 : maxConcurrentDownloads;
      stallTimeout = orDefault(stallTimeout, "60s");
      platform = orDefault(platform, "linux/amd64");
      maxManifestBytes = maxManifestBytes == null ? 4 * 1024 * 1024 : maxManifestBytes;
      Checks.positive("image.max_concurrent_downloads", maxConcurrentDownloads);
      Checks.duration("image.stall_timeout", stallTimeout);
      Checks.positive("image.max_manifest_bytes", maxManifestBytes);
    }
  }

  /** Registries: per-host rules in the spirit of containerd's hosts.toml. */
  public record Registry(
      @JsonProperty("docker_config") String dockerConfig,
      @JsonProperty("max_retries") Integer maxRetries,
      @JsonProperty("connect_timeout") String connectTimeout,
      @JsonProperty("hosts") Map<String, Host> hosts) {
    public Registry {
      dockerConfig = orDefault(dockerConfig, "/root/.docker/config.json");
      maxRetries = maxRetries == null ? 5 : maxRetries;
      connectTimeout = orDefault(connectTimeout, "10s");
      hosts = hosts == null ? Map.of() : Map.copyOf(hosts);
      Checks.nonNegative("registry.max_retries", maxRetries);
      Checks.duration("registry.connect_timeout", connectTimeout);
    }
  }

  /**
   * One registry host. {@code mirrors} are tried in order, then the upstream; {@code server} replaces the upstream
   * entirely (no fallback to the real host). Plain HTTP is used only for URLs that say http:// and are loopback or
   * marked {@code insecure}.
   */
  public record Host(
      @JsonProperty("mirrors") List<String> mirrors,
      @JsonProperty("server") String server,
      @JsonProperty("insecure") Boolean insecure,
      @JsonProperty("ca") List<String> ca,
      @JsonProperty("username") String username,
      @JsonProperty("password") String password) {
    public Host {
      mirrors = mirrors == null ? List.of() : List.copyOf(mirrors);
      insecure = insecure != null && insecure;
      ca = ca == null ? List.of() : List.copyOf(ca);
    }
  }

  /** OCI runtimes. */
  public record Runtime(
      @JsonProperty("default_handler") String defaultHandler,
      @JsonProperty("conmon") String conmon,
      @JsonProperty("cgroup_driver") String cgroupDriver,
      @JsonProperty("spare_rootfs") Integer spareRootfs,
      @JsonProperty("start_slots") Integer startSlots,
      @JsonProperty("prime_cgroup_attach") Boolean primeCgroupAttach,
      @JsonProperty("handlers") Map<String, Handler> handlers) {
    public Runtime {
      primeCgroupAttach = primeCgroupAttach == null || primeCgroupAttach;
      spareRootfs = spareRootfs == null ? 8 : spareRootfs;
      Checks.range("runtime.spare_rootfs", spareRootfs, 0, 256);
      // -1: berthd's CPUs + 1, the value measured best (docs/config.md, "Pod start queue"); 0: no queue.
      startSlots = startSlots == null ? -1 : startSlots;
      Checks.range("runtime.start_slots", startSlots, -1, 1024);
      defaultHandler = orDefault(defaultHandler, "runc");
      conmon = orDefault(conmon, "/usr/bin/conmon");
      cgroupDriver = orDefault(cgroupDriver, "cgroupfs");
      Checks.oneOf("runtime.cgroup_driver", cgroupDriver, "cgroupfs", "systemd");
      handlers = handlers == null || handlers.isEmpty() ? defaultHandlers() : Map.copyOf(handlers);
      if (!handlers.containsKey(defaultHandler)) {
        throw new ConfigException("runtime.default_handler: no handler named '" + defaultHandler + "' in runtime.handlers");
      }
    }

    static Map<String, Handler> defaultHandlers() {
      return Map.of(
          "runc", new Handler("/usr/sbin/runc", List.of(), null),
          "crun", new Handler("/usr/bin/crun", List.of(), null),
          "runsc", new Handler("/usr/bin/runsc", List.of(), null));
    }
  }

  /** A runtime handler: the OCI runtime binary, extra global arguments, and the annotation keys it may read. */
  public record Handler(
      @JsonProperty("binary") String binary,
      @JsonProperty("args") List<String> args,
      @JsonProperty("allowed_annotations") List<String> allowedAnnotations) {
    public Handler {
      if (binary == null || binary.isBlank()) {
        throw new ConfigException("runtime.handlers.*.binary: required");
      }
      args = args == null ? List.of() : List.copyOf(args);
      allowedAnnotations = allowedAnnotations == null ? List.of() : List.copyOf(allowedAnnotations);
    }
  }

  /** CNI. */
  public record Network(
      @JsonProperty("conf_dirs") List<String> confDirs,
      @JsonProperty("plugin_dirs") List<String> pluginDirs,
      @JsonProperty("network_name") String networkName,
      @JsonProperty("plugin_timeout") String pluginTimeout) {
    public Network {
      confDirs = confDirs == null ? List.of("/etc/cni/net.d") : List.copyOf(confDirs);
      pluginDirs = pluginDirs == null ? List.of("/usr/lib/cni", "/opt/cni/bin") : List.copyOf(pluginDirs);
      networkName = networkName == null ? "" : networkName;
      pluginTimeout = orDefault(pluginTimeout, "60s");
      Checks.duration("network.plugin_timeout", pluginTimeout);
    }
  }

  /** Pod sandboxes: the infra process holding the pod's namespaces. */
  public record Pod(
      @JsonProperty("infra") String infra,
      @JsonProperty("catatonit") String catatonit,
      @JsonProperty("pause_image") String pauseImage,
      @JsonProperty("stop_timeout") String stopTimeout) {
    public Pod {
      infra = orDefault(infra, "catatonit");
      Checks.oneOf("pod.infra", infra, "catatonit", "image");
      catatonit = orDefault(catatonit, "/usr/bin/catatonit");
      pauseImage = orDefault(pauseImage, "registry.k8s.io/pause:3.10");
      stopTimeout = orDefault(stopTimeout, "10s");
      Checks.duration("pod.stop_timeout", stopTimeout);
    }
  }

  /** Exec, attach and port-forward server: loopback by default. */
  public record Streaming(
      @JsonProperty("address") String address,
      @JsonProperty("port") Integer port,
      @JsonProperty("token_ttl") String tokenTtl) {
    public Streaming {
      address = orDefault(address, "127.0.0.1");
      port = port == null ? 0 : port;
      tokenTtl = orDefault(tokenTtl, "30s");
      Checks.range("streaming.port", port, 0, 65535);
      Checks.duration("streaming.token_ttl", tokenTtl);
    }
  }

  /** Prometheus /metrics: off by default, loopback when on. */
  public record Metrics(@JsonProperty("enabled") Boolean enabled, @JsonProperty("address") String address) {
    public Metrics {
      enabled = enabled != null && enabled;
      address = orDefault(address, "127.0.0.1:9099");
    }
  }

  private static String orDefault(String v, String d) {
    return v == null || v.isEmpty() ? d : v;
  }
}
