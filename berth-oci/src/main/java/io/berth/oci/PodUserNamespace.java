package io.berth.oci;

import io.berth.core.BerthException;
import io.berth.cri.api.IDMapping;
import io.berth.cri.api.NamespaceMode;
import io.berth.cri.api.NamespaceOption;
import io.berth.cri.api.UserNamespace;
import java.util.List;
import java.util.Optional;

/**
 * A pod's own user namespace (CRI {@code NamespaceOption.userns_options} with mode POD, the kubelet's
 * {@code hostUsers: false}): every container of the pod runs in it, container ids {@code 0..length-1} mapped to the
 * host ids {@code hostId..hostId+length-1}.
 *
 * <p>The rules are the peers' (containerd 2 {@code parseUsernsIDs}, CRI-O): mode NODE (or no options) means the
 * host's user namespace and takes no mappings; mode POD takes exactly one uid and one gid mapping; CONTAINER and
 * TARGET are not supported. Berth adds what containerd leaves to the OCI runtime or to chance: the mapping must
 * start at container id 0 (the pod's root must be mapped, or nothing in the image could be owned by root), the
 * host range must not contain host id 0 (the pod's root would be the host's root), and ranges must not overflow
 * 32 bits. The kubelet allocates multiples of 65536 from 65536 up, so none of this refuses what a kubelet sends.
 */
public record PodUserNamespace(Range uids, Range gids) {

  /** {@code length} container ids from 0 map to the host ids from {@code hostId}. */
  public record Range(long hostId, long length) {
    /** The last host id of the range. */
    public long lastHostId() {
      return hostId + length - 1;
    }

    /** Whether a container id is mapped. */
    public boolean maps(long containerId) {
      return containerId >= 0 && containerId < length;
    }
  }

  /** Largest id plus one: uid_map ranges end at 2^32-1 exclusive ((uid_t) -1 is never a valid id). */
  static final long ID_LIMIT = 0xFFFF_FFFFL;

  /** The host uid the pod's root runs as. */
  public long rootUid() {
    return uids.hostId();
  }

  /** The host gid of the pod's root group. */
  public long rootGid() {
    return gids.hostId();
  }

  /**
   * The pod's user namespace from its namespace options; empty for the host's (no options, or mode NODE).
   *
   * @throws BerthException INVALID_ARGUMENT for an unsupported mode, missing, extra or unsafe mappings, or a pod
   *     that shares the host's network, IPC or PID namespace (which a user namespace cannot own; Kubernetes refuses
   *     {@code hostUsers: false} with host namespaces too)
   */
  public static Optional<PodUserNamespace> of(NamespaceOption ns) {
    if (!ns.hasUsernsOptions()) {
      return Optional.empty();
    }
    UserNamespace u = ns.getUsernsOptions();
    switch (u.getMode()) {
      case NODE -> {
        if (u.getUidsCount() > 0 || u.getGidsCount() > 0) {
          throw BerthException.invalidArgument(
              "user namespace mode NODE takes no mappings, got %d uid and %d gid mappings", u.getUidsCount(),
              u.getGidsCount());
        }
        return Optional.empty();
      }
      case POD -> {
        // handled below
      }
      case CONTAINER, TARGET -> throw BerthException.invalidArgument(
          "user namespace mode %s is not supported: use POD or NODE", u.getMode());
      default -> throw BerthException.invalidArgument("unknown user namespace mode %s", u.getModeValue());
    }
    Range uids = range("uid", u.getUidsList());
    Range gids = range("gid", u.getGidsList());
    for (var shared : List.of(new Object[] {"network", ns.getNetwork()}, new Object[] {"IPC", ns.getIpc()},
        new Object[] {"PID", ns.getPid()})) {
      if (shared[1] == NamespaceMode.NODE) {
        throw BerthException.invalidArgument(
            "a pod in its own user namespace cannot use the host's %s namespace", shared[0]);
      }
    }
    return Optional.of(new PodUserNamespace(uids, gids));
  }

  private static Range range(String what, List<IDMapping> mappings) {
    if (mappings.size() != 1) {
      throw BerthException.invalidArgument(
          "user namespace mode POD needs exactly one %s mapping, got %d", what, mappings.size());
    }
    IDMapping m = mappings.getFirst();
    long containerId = Integer.toUnsignedLong(m.getContainerId());
    long hostId = Integer.toUnsignedLong(m.getHostId());
    long length = Integer.toUnsignedLong(m.getLength());
    if (containerId != 0) {
      throw BerthException.invalidArgument(
          "the %s mapping must start at container id 0 (the pod's root), got container id %d", what, containerId);
    }
    if (length == 0) {
      throw BerthException.invalidArgument("the %s mapping has length 0", what);
    }
    if (hostId == 0) {
      throw BerthException.invalidArgument(
          "the %s mapping would map the pod's root to the host's root (host id 0)", what);
    }
    if (hostId + length > ID_LIMIT) {
      throw BerthException.invalidArgument("the %s mapping %d+%d overflows the 32-bit id range", what, hostId,
          length);
    }
    return new Range(hostId, length);
  }

  /**
   * Checks that a container asks for its pod's user namespace: the same mode and mappings (an absent option is mode
   * NODE), as containerd's {@code sameUsernsConfig} does.
   */
  public static void checkContainer(NamespaceOption pod, NamespaceOption container) {
    Optional<PodUserNamespace> p = of(pod);
    Optional<PodUserNamespace> c = Optional.empty();
    if (container.hasUsernsOptions()) {
      try {
        // Only the user namespace options are the container's to check here; its other modes follow the pod's.
        c = of(NamespaceOption.newBuilder().setUsernsOptions(container.getUsernsOptions()).build());
      } catch (BerthException e) {
        throw BerthException.invalidArgument("container user namespace: %s", e.getMessage());
      }
    }
    if (!p.equals(c)) {
      throw BerthException.invalidArgument(
          "the container's user namespace options (%s) differ from its pod's (%s)", describe(c), describe(p));
    }
  }

  /**
   * Checks the uid/gid mappings of a CRI mount (the kubelet sets the pod's own on every volume of a pod with
   * {@code hostUsers: false}): Berth idmaps such a mount through the pod's user namespace, so they must be exactly
   * the pod's. Returns whether the mount is to be idmapped.
   */
  public static boolean idmapped(Optional<PodUserNamespace> pod, io.berth.cri.api.Mount m) {
    if (m.getUidMappingsCount() == 0 && m.getGidMappingsCount() == 0) {
      return false;
    }
    if (pod.isEmpty()) {
      throw BerthException.invalidArgument(
          "idmapped mount %s needs a pod in its own user namespace (the runtime cannot make one itself)",
          m.getContainerPath());
    }
    Range uids;
    Range gids;
    try {
      uids = range("uid", m.getUidMappingsList());
      gids = range("gid", m.getGidMappingsList());
    } catch (BerthException e) {
      throw BerthException.invalidArgument("idmapped mount %s: %s", m.getContainerPath(), e.getMessage());
    }
    if (!uids.equals(pod.get().uids()) || !gids.equals(pod.get().gids())) {
      throw BerthException.invalidArgument(
          "idmapped mount %s: its mappings must be the pod's user namespace mappings", m.getContainerPath());
    }
    return true;
  }

  private static String describe(Optional<PodUserNamespace> u) {
    return u.map(x -> "POD uids " + x.uids().hostId() + "+" + x.uids().length() + " gids " + x.gids().hostId() + "+"
        + x.gids().length()).orElse("NODE");
  }
}
