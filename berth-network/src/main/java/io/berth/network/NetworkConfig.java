package io.berth.network;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The {@code [network]} section: where CNI network configs and plugin binaries live, where network namespaces are
 * pinned and where CNI results are cached.
 *
 * @param confDirs directories searched, in order, for {@code .conflist}, {@code .conf} and {@code .json} files
 * @param pluginDirs directories searched, in order, for plugin binaries ({@code CNI_PATH})
 * @param netnsDir where network namespaces are pinned by bind mounts (made a shared mount point on first use, as
 *     {@code ip netns} does with {@code /run/netns})
 * @param cacheDir where the config, arguments and result of each ADD are kept so DEL and CHECK work after a restart
 * @param pluginTimeout how long one plugin invocation may take before it is killed
 * @param networkName the network (the {@code name} inside a config) to use; empty picks the first config file in
 *     lexical order, as containerd does
 */
public record NetworkConfig(
    List<Path> confDirs,
    List<Path> pluginDirs,
    Path netnsDir,
    Path cacheDir,
    Duration pluginTimeout,
    String networkName) {

  public static final List<Path> DEFAULT_CONF_DIRS = List.of(Path.of("/etc/cni/net.d"));
  public static final List<Path> DEFAULT_PLUGIN_DIRS = List.of(Path.of("/usr/lib/cni"), Path.of("/opt/cni/bin"));
  public static final Duration DEFAULT_PLUGIN_TIMEOUT = Duration.ofSeconds(60);

  public NetworkConfig {
    confDirs = List.copyOf(confDirs);
    pluginDirs = List.copyOf(pluginDirs);
    Objects.requireNonNull(netnsDir, "netnsDir");
    Objects.requireNonNull(cacheDir, "cacheDir");
    Objects.requireNonNull(pluginTimeout, "pluginTimeout");
    networkName = networkName == null ? "" : networkName;
    if (pluginTimeout.isNegative() || pluginTimeout.isZero()) {
      throw new IllegalArgumentException("pluginTimeout must be positive: " + pluginTimeout);
    }
  }

  /** The first conflist wins. */
  public NetworkConfig(
      List<Path> confDirs, List<Path> pluginDirs, Path netnsDir, Path cacheDir, Duration pluginTimeout) {
    this(confDirs, pluginDirs, netnsDir, cacheDir, pluginTimeout, "");
  }

  /** Defaults: {@code /etc/cni/net.d}, {@code /usr/lib/cni} and {@code /opt/cni/bin}, state under {@code stateDir}. */
  public static NetworkConfig defaults(Path stateDir) {
    return new NetworkConfig(
        DEFAULT_CONF_DIRS,
        DEFAULT_PLUGIN_DIRS,
        stateDir.resolve("netns"),
        stateDir.resolve("cni-cache"),
        DEFAULT_PLUGIN_TIMEOUT);
  }

  public NetworkConfig withConfDirs(List<Path> dirs) {
    return new NetworkConfig(dirs, pluginDirs, netnsDir, cacheDir, pluginTimeout, networkName);
  }

  public NetworkConfig withPluginDirs(List<Path> dirs) {
    return new NetworkConfig(confDirs, dirs, netnsDir, cacheDir, pluginTimeout, networkName);
  }

  public NetworkConfig withNetworkName(String name) {
    return new NetworkConfig(confDirs, pluginDirs, netnsDir, cacheDir, pluginTimeout, name);
  }

  public NetworkConfig withPluginTimeout(Duration timeout) {
    return new NetworkConfig(confDirs, pluginDirs, netnsDir, cacheDir, timeout, networkName);
  }
}
