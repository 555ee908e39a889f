package io.berth.cri;

import io.berth.core.BerthException;
import io.berth.core.Digest;
import io.berth.linux.Mounts;
import io.berth.snapshot.Snapshotter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Container rootfs made ahead: for each of the images that most recently had a container created (at most
 * {@code maxImages}), a writable snapshot over its layers, already mounted, waiting in {@code <state>/spares/<id>}
 * laid out as a container dir ({@code bundle/rootfs}): one per image, more (up to {@link #MAX_PER_IMAGE}) once the
 * image's containers come faster than its spares are made, as when a deployment scales up. The image's next
 * container takes one: the dir is renamed to the container's and the spare's id becomes the container's id, so the
 * snapshot (keyed by that id) needs no rename and the mount moves with its dir. Making a snapshot and mounting it is
 * most of CreateContainer's own time on a disk where new inodes are slow; replicas of one image, the common case on a
 * node, skip it.
 *
 * <p>Spares are berthd's alone: nothing records them, so a spare found at start is what a crash left and is
 * removed, and {@link #close} removes them at a clean stop. A spare holds its layers like any active snapshot, so
 * image garbage collection first drops the spares of images that are gone ({@link #retainOnly}). Pods in their own
 * user namespace get idmapped rootfs and never use spares.
 */
final class RootfsSpares implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RootfsSpares.class);

  /** The most spares one image keeps. */
  static final int MAX_PER_IMAGE = 4;

  /** A spare: its id (the snapshot key, and the id of the container that takes it) and the layers it stands on. */
  record Spare(String id, List<Digest> chainIds) {}

  private final Snapshotter snapshotter;
  private final Path dir;
  private final int maxImages;
  /** Held while a spare is made or dropped, so a drop never misses one being made. */
  private final ReentrantLock work = new ReentrantLock();
  /** Spares by layer chain, least recently used first. Guarded by {@code this}. */
  private final LinkedHashMap<List<Digest>, PerImage> images = new LinkedHashMap<>(16, 0.75f, true);
  /** Spares of evicted images, still to be destroyed (by the maker, or by a drop that comes first). Guarded by this. */
  private final List<Spare> evicted = new ArrayList<>();
  private final ExecutorService maker;
  private boolean closed; // guarded by this

  /**
   * One image's spares: ready ones, how many are queued or being made, how many it should keep, and whether it was
   * dropped (a spare made for it then is destroyed at once).
   */
  private static final class PerImage {
    final ArrayDeque<Spare> ready = new ArrayDeque<>();
    int making;
    int wanted = 1;
    boolean dropped;
  }

  private RootfsSpares(Snapshotter snapshotter, Path dir, int maxImages) {
    this.snapshotter = snapshotter;
    this.dir = dir;
    this.maxImages = maxImages;
    // A platform thread: making a spare waits in mkdir(2) and mount(2) through foreign calls.
    this.maker = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().name("berth-rootfs-spares").factory());
  }

  /**
   * Opens the spares dir, removing every spare a previous run left (with its mount and snapshot). {@code maxImages}
   * 0 turns spares off.
   */
  static RootfsSpares open(Snapshotter snapshotter, Path dir, int maxImages) {
    if (maxImages < 0) {
      throw new IllegalArgumentException("maxImages < 0: " + maxImages);
    }
    RootfsSpares spares = new RootfsSpares(snapshotter, dir, maxImages);
    int removed = 0;
    try {
      Files.createDirectories(dir);
      Dirs.restrict(dir, 0);
      try (var left = Files.newDirectoryStream(dir)) {
        for (Path p : left) {
          spares.destroy(p.getFileName().toString());
          removed++;
        }
      }
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot prepare the spare rootfs dir %s", dir);
    }
    if (removed > 0) {
      log.info("removed {} spare rootfs left by an earlier run", removed);
    }
    return spares;
  }

  /** A ready spare over exactly these layers, now the caller's (see {@link #moveInto} and {@link #discard}). */
  synchronized Optional<Spare> take(List<Digest> chainIdsBottomFirst) {
    PerImage image = images.get(chainIdsBottomFirst);
    if (image == null) {
      return Optional.empty();
    }
    Spare s = image.ready.pollFirst();
    if (s == null) {
      // Containers of this image come faster than its spares: keep one more from now on.
      image.wanted = Math.min(MAX_PER_IMAGE, image.wanted + 1);
    }
    return Optional.ofNullable(s);
  }

  /**
   * Makes the taken spare the container dir {@code containerDir} (one rename; its rootfs stays mounted at
   * {@code bundle/rootfs}). On failure the spare is destroyed and false returned: the caller then makes the rootfs
   * itself, under the same id.
   */
  boolean moveInto(Spare spare, Path containerDir) {
    try {
      Files.move(dir.resolve(spare.id()), containerDir, StandardCopyOption.ATOMIC_MOVE);
      return true;
    } catch (IOException | RuntimeException e) {
      log.warn("cannot use spare rootfs {}: {}; making one instead", spare.id(), e.toString());
      destroy(spare.id());
      return false;
    }
  }

  /** Destroys a taken spare unless {@link #moveInto} made it a container's; idempotent. */
  void discard(Spare spare) {
    if (Files.exists(dir.resolve(spare.id()), LinkOption.NOFOLLOW_LINKS)) {
      destroy(spare.id());
    }
  }

  /**
   * Asks for the spares this image should keep, made in the background unless ready or on their way; marks the
   * image as recently used, dropping the spares of the least recently used one beyond {@code maxImages}.
   */
  void replenish(List<Digest> chainIdsBottomFirst) {
    List<Digest> chain = List.copyOf(chainIdsBottomFirst);
    synchronized (this) {
      if (closed || maxImages == 0) {
        return;
      }
      PerImage image = images.computeIfAbsent(chain, k -> new PerImage());
      Iterator<PerImage> lru = images.values().iterator();
      while (images.size() > maxImages) {
        PerImage lost = lru.next();
        lost.dropped = true;
        evicted.addAll(lost.ready);
        lru.remove();
      }
      if (!evicted.isEmpty()) {
        submit(() -> drop(any -> false));
      }
      while (image.ready.size() + image.making < image.wanted && submit(() -> make(chain, image))) {
        image.making++;
      }
    }
  }

  /**
   * Drops the spares over any layer chain not in {@code chainsInUse}, and those of evicted images; waits for one
   * being made.
   */
  void retainOnly(Set<List<Digest>> chainsInUse) {
    drop(chain -> !chainsInUse.contains(chain));
  }

  /**
   * Destroys the spares of evicted images and of the images {@code gone} picks, under the lock a spare is made under,
   * so a GC never runs beside one.
   */
  private void drop(Predicate<List<Digest>> gone) {
    work.lock();
    try {
      List<Spare> doomed;
      synchronized (this) {
        doomed = new ArrayList<>(evicted);
        evicted.clear();
        images.entrySet().removeIf(e -> {
          if (!gone.test(e.getKey())) {
            return false;
          }
          e.getValue().dropped = true;
          doomed.addAll(e.getValue().ready);
          return true;
        });
      }
      doomed.forEach(s -> destroy(s.id()));
    } finally {
      work.unlock();
    }
  }

  /** Ids of the spares ready now. */
  synchronized List<String> readyIds() {
    return images.values().stream().flatMap(i -> i.ready.stream()).map(Spare::id).toList();
  }

  /** Stops making spares and removes the ready ones (their mounts and snapshots). Idempotent. */
  @Override
  public void close() {
    synchronized (this) {
      closed = true;
    }
    maker.shutdown();
    try {
      if (!maker.awaitTermination(30, TimeUnit.SECONDS)) {
        log.warn("spare rootfs maker still busy after 30 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    retainOnly(Set.of());
  }

  private boolean submit(Runnable task) {
    try {
      maker.execute(task);
      return true;
    } catch (RejectedExecutionException e) {
      return false; // closing
    }
  }

  private void make(List<Digest> chain, PerImage image) {
    work.lock();
    try {
      synchronized (this) {
        if (closed || image.dropped) {
          return; // dropped meanwhile
        }
      }
      String id = Ids.newId();
      Path home = dir.resolve(id);
      try {
        // The dir first: a snapshot of a spare always has its dir, which is how the start-up sweep finds it.
        Files.createDirectory(home);
        Dirs.restrict(home, 0);
        Path rootfs = Files.createDirectories(home.resolve("bundle").resolve("rootfs"));
        snapshotter.prepare(id, chain);
        snapshotter.mount(id, rootfs);
      } catch (IOException | RuntimeException e) {
        log.warn("cannot make a spare rootfs: {}", e.toString());
        destroy(id);
        return;
      }
      boolean kept;
      synchronized (this) {
        kept = !closed && !image.dropped;
        if (kept) {
          image.ready.addLast(new Spare(id, chain));
        }
      }
      if (!kept) {
        destroy(id);
      }
    } finally {
      synchronized (this) {
        image.making--;
      }
      work.unlock();
    }
  }

  /** Unmounts, removes the snapshot, then the dir (in that order: see {@link #make}); logs what fails. */
  private void destroy(String id) {
    Path home = dir.resolve(id);
    try {
      Mounts.unmountAllUnder(home);
      snapshotter.remove(id);
      Dirs.deleteRecursively(home);
    } catch (IOException | RuntimeException e) {
      log.warn("cannot remove spare rootfs {}: {}", id, e.toString());
    }
  }
}
