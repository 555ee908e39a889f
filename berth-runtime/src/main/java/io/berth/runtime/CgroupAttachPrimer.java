package io.berth.runtime;

import io.berth.linux.CgroupMembership;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts, ahead of the OCI runtime, the kernel wait that the runtime's first cgroup move would otherwise pay on the
 * container's start path.
 *
 * <p>Moving a process into a cgroup takes the kernel's global {@code cgroup_threadgroup_rwsem} for writing, and a
 * writer waits for an RCU grace period unless another writer released that lock less than a grace period before
 * (rcu_sync). {@code runc create} (and crun, runsc, {@code runc exec}) moves the container's process into its cgroup
 * after starting up, and that one write was 5-17 ms of its ~35 ms on the 2-core machines here (traced; everything
 * else it does is small steps). So just before starting conmon, berthd writes its own pid into its own cgroup from
 * this class's thread: a move to where it already is, which changes nothing but takes the lock for writing. The grace
 * period then elapses while conmon and the runtime start up (~10 ms), and the runtime's move finds the lock freshly
 * released.
 *
 * <p>At most one priming write is in flight; a request while one waits shares its grace period. A kernel that keeps
 * the lock in its slow mode anyway ({@code favordynmods}) makes the write cheap and the priming moot, never wrong.
 * The first failed write turns priming off (logged once).
 */
final class CgroupAttachPrimer {
  private static final Logger log = LoggerFactory.getLogger(CgroupAttachPrimer.class);
  private static final CgroupAttachPrimer OFF = new CgroupAttachPrimer(null, null);

  /** Where the cgroup hierarchies are mounted; {@code null} when off. */
  private final Path cgroupRoot;
  /** {@code /proc/self/cgroup}: read again for each write, so a berthd moved since is never moved back. */
  private final Path selfCgroup;
  private final String pid = Long.toString(ProcessHandle.current().pid());
  private final AtomicBoolean inFlight = new AtomicBoolean();
  /**
   * One platform thread (the write blocks in the kernel for the grace period), gone after a quiet half minute;
   * {@code null} when off.
   */
  private final ExecutorService writer;
  private volatile boolean broken;

  private CgroupAttachPrimer(Path cgroupRoot, Path selfCgroup) {
    this.cgroupRoot = cgroupRoot;
    this.selfCgroup = selfCgroup;
    this.writer = cgroupRoot == null ? null : new ThreadPoolExecutor(0, 1, 30, TimeUnit.SECONDS,
        new LinkedBlockingQueue<>(), Thread.ofPlatform().daemon().name("cgroup-attach-primer").factory());
  }

  /** A primer for berthd's own cgroup, or one that does nothing when {@code enabled} is false or none is found. */
  static CgroupAttachPrimer open(boolean enabled, Path cgroupRoot, Path selfCgroup) {
    if (!enabled) {
      return OFF;
    }
    Optional<Path> file = ownProcsFile(cgroupRoot, selfCgroup);
    if (file.isEmpty()) {
      log.info("cgroup attach priming off: berthd's own cgroup not found under {}", cgroupRoot);
      return OFF;
    }
    log.info("cgroup attach priming on: {}", file.get());
    return new CgroupAttachPrimer(cgroupRoot, selfCgroup);
  }

  /** Starts a priming write unless one is in flight; returns at once. */
  void prime() {
    if (cgroupRoot == null || broken || !inFlight.compareAndSet(false, true)) {
      return;
    }
    writer.execute(() -> {
      Optional<Path> file = Optional.empty();
      try {
        file = ownProcsFile(cgroupRoot, selfCgroup);
        if (file.isPresent()) {
          Files.writeString(file.get(), pid);
        }
      } catch (IOException e) {
        broken = true;
        log.warn("cgroup attach priming off: cannot write {}: {}", file.orElse(null), e.getMessage());
      } finally {
        inFlight.set(false);
      }
    });
  }

  /** Whether a priming write is in flight (for tests). */
  boolean busy() {
    return inFlight.get();
  }

  /** Whether priming is off for good after a failed write. */
  boolean broken() {
    return broken;
  }

  /** The file priming would write to now, if on. */
  Optional<Path> procsFile() {
    return cgroupRoot == null ? Optional.empty() : ownProcsFile(cgroupRoot, selfCgroup);
  }

  /**
   * berthd's cgroup in the v2 hierarchy (the whole tree, or the hybrid's {@code unified} mount), else in its first
   * named v1 hierarchy, from {@code /proc/self/cgroup}.
   */
  static Optional<Path> ownProcsFile(Path cgroupRoot, Path selfCgroup) {
    List<CgroupMembership> memberships = CgroupMembership.read(selfCgroup);
    for (CgroupMembership m : memberships) {
      if (m.unified()) {
        for (Path mount : List.of(cgroupRoot, cgroupRoot.resolve("unified"))) {
          if (Files.exists(mount.resolve("cgroup.controllers"))) {
            Optional<Path> p = procsIn(mount, m);
            if (p.isPresent()) {
              return p;
            }
          }
        }
      }
    }
    for (CgroupMembership m : memberships) {
      if (!m.controllers().isEmpty()) {
        String dir = String.join(",", m.controllers());
        Optional<Path> p = procsIn(cgroupRoot.resolve(dir.startsWith("name=") ? dir.substring(5) : dir), m);
        if (p.isPresent()) {
          return p;
        }
      }
    }
    return Optional.empty();
  }

  private static Optional<Path> procsIn(Path mount, CgroupMembership m) {
    if (m.path().contains("..") || m.path().contains("(deleted)")) {
      return Optional.empty();
    }
    Path p = mount.resolve(m.relativePath()).resolve("cgroup.procs");
    return Files.isWritable(p) ? Optional.of(p) : Optional.empty();
  }

}
