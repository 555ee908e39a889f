package io.berth.image;

import io.berth.content.ContentStore;
import io.berth.core.BerthException;
import io.berth.core.Digest;
import io.berth.core.ImageRef;
import io.berth.metadata.ImageRecord;
import io.berth.metadata.MetadataStore;
import io.berth.registry.Credentials;
import io.berth.registry.RegistryClient;
import io.berth.snapshot.Snapshotter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The image side of Berth: pulls images from registries into the content store and layer snapshots and records them
 * in the metadata store; finds, lists, removes, imports, exports, pushes and garbage-collects them.
 *
 * <p>Thread-safe. Pulls and imports run concurrently with each other (blobs and layers are deduplicated by the
 * stores below); garbage collection takes an exclusive lock, so it never deletes what an in-flight pull or import has
 * written but not yet recorded. Errors are {@link BerthException}s: INVALID_ARGUMENT for a bad reference or hostile
 * content, NOT_FOUND for an unknown image or a platform missing from an index, and whatever the registry and stores
 * report, with the image and blob named. Removal is idempotent.
 */
public final class ImageService implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ImageService.class);

  private final ImageConfig config;
  private final ContentStore content;
  private final Snapshotter snapshotter;
  private final RegistryClient registry;
  private final MetadataStore metadata;
  private final ImagePuller puller;
  private final ImageViews views = new ImageViews();
  private final ReentrantReadWriteLock gcLock = new ReentrantReadWriteLock();
  private final AtomicBoolean gcRequested = new AtomicBoolean();
  private final AtomicBoolean gcRunning = new AtomicBoolean();
  private final AtomicInteger activePulls = new AtomicInteger();
  private volatile Supplier<Set<Digest>> layersInUse = Set::of;
  private volatile Runnable beforeCollect = () -> { };
  private volatile boolean closed;
  private volatile Thread gcThread;

  private ImageService(ImageConfig config, ContentStore content, Snapshotter snapshotter, RegistryClient registry,
      MetadataStore metadata) {
    this.config = config;
    this.content = content;
    this.snapshotter = snapshotter;
    this.registry = registry;
    this.metadata = metadata;
    this.puller = new ImagePuller(config, content, snapshotter, registry, metadata);
  }

  /** Creates the service; makes {@code config.root()} (mode 0700) and empties its {@code tmp/} of a previous run. */
  public static ImageService create(ImageConfig config, ContentStore content, Snapshotter snapshotter,
      RegistryClient registry, MetadataStore metadata) {
    Objects.requireNonNull(config);
    try {
      var mode = PosixFilePermissions.fromString("rwx------");
      Files.createDirectories(config.root(), PosixFilePermissions.asFileAttribute(mode));
      Files.setPosixFilePermissions(config.root(), mode);
      Path tmp = config.root().resolve("tmp");
      if (Files.exists(tmp)) {
        deleteTree(tmp);
      }
      Files.createDirectories(tmp, PosixFilePermissions.asFileAttribute(mode));
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot prepare image service root %s", config.root());
    }
    return new ImageService(Objects.requireNonNull(config), Objects.requireNonNull(content),
        Objects.requireNonNull(snapshotter), Objects.requireNonNull(registry), Objects.requireNonNull(metadata));
  }

  /**
   * Tells garbage collection which layer chain IDs containers use (their rootfs snapshots stack on them), so those
   * are kept even after their image is removed. Set by the runtime side at start.
   */
  public void setLayersInUse(Supplier<Set<Digest>> chainIdsInUse) {
    this.layersInUse = Objects.requireNonNull(chainIdsInUse);
  }

  /**
   * Runs at the start of every garbage collection, with pulls and imports held off: the runtime side lets go of
   * snapshots it keeps only to go faster (spare rootfs) over images that are no longer recorded, so their layers
   * can go. Set by the runtime side at start.
   */
  public void setBeforeCollect(Runnable hook) {
    this.beforeCollect = Objects.requireNonNull(hook);
  }

  public ImageConfig config() {
    return config;
  }

  // ---------------------------------------------------------------- pull

  /**
   * Pulls {@code ref} for the configured platform and returns the recorded image. INVALID_ARGUMENT for a bad
   * reference; NOT_FOUND for an unknown image or a platform the index lacks; registry errors as the registry reports
   * them; INVALID_ARGUMENT naming the layer for hostile or corrupt content. Nothing is recorded unless every layer is
   * unpacked.
   */
  public Image pull(String ref, Optional<Credentials> creds, PullListener listener) {
    ImageRef parsed = ImageRef.parse(ref);
    gcLock.readLock().lock();
    activePulls.incrementAndGet();
    try {
      return views.of(puller.pull(parsed, creds, listener == null ? PullListener.NONE : listener));
    } catch (BerthException e) {
      throw BerthException.wrap(e, "pull %s", parsed);
    } finally {
      gcLock.readLock().unlock();
      if (activePulls.decrementAndGet() == 0) {
        returnPullMemory();
      }
    }
  }

  /**
   * A pull streams hundreds of MB through short-lived buffers; while it runs many of them get promoted, and the serial
   * collector berthd runs with returns old-generation memory only at a full collection, so an idle berthd kept ~150
   * MiB more after a 200 MB pull (measured: 277 vs 127 MiB PSS). One collection once the last concurrent pull is
   * over (tens of ms with berthd's small live set) gives it back. A no-op under -XX:+DisableExplicitGC.
   */
  private static void returnPullMemory() {
    System.gc();
  }

  // ---------------------------------------------------------------- lookup

  /** All images, ordered by id. */
  public List<Image> list() {
    return metadata.images().stream().map(views::of).toList();
  }

  /**
   * Finds an image by full id, bare id hex, tag ({@code busybox} means {@code docker.io/library/busybox:latest}),
   * digest reference ({@code name@sha256:...}) or a unique id prefix of at least 4 hex digits. INVALID_ARGUMENT for
   * an ambiguous prefix.
   */
  public Optional<Image> find(String refOrId) {
    return ImageLookup.find(metadata, refOrId).flatMap(metadata::image).map(views::of);
  }

  /** Like {@link #find} but NOT_FOUND when absent. */
  public Image get(String refOrId) {
    return find(refOrId).orElseThrow(() -> BerthException.notFound("image %s not found", refOrId));
  }

  // ---------------------------------------------------------------- remove, gc, prune

  /**
   * Removes the image {@code refOrId} names, with all its names, as containerd CRI's RemoveImage does; idempotent (an
   * unknown image is fine). Blobs and layers are freed by a garbage collection started in the background.
   */
  public void remove(String refOrId) {
    Optional<Digest> id = ImageLookup.find(metadata, refOrId);
    if (id.isEmpty()) {
      return;
    }
    if (metadata.deleteImage(id.get())) {
      log.info("removed image {} ({})", id.get(), refOrId);
    }
    requestGc();
  }

  /** Removes every unpinned image whose id is not in {@code imageIdsInUse}, then collects garbage. */
  public List<Image> prune(Set<String> imageIdsInUse) {
    List<Image> removed = new ArrayList<>();
    for (ImageRecord r : metadata.images()) {
      if (r.pinned() || imageIdsInUse.contains(r.id().toString()) || imageIdsInUse.contains(r.id().hex())) {
        continue;
      }
      if (metadata.deleteImage(r.id())) {
        removed.add(views.of(r));
        log.info("pruned image {}", r.id());
      }
    }
    gc();
    return removed;
  }

  /** Sets the pinned flag (pinned images are never pruned); NOT_FOUND for an unknown image. */
  public void pin(String refOrId, boolean pinned) {
    Digest id = ImageLookup.find(metadata, refOrId)
        .orElseThrow(() -> BerthException.notFound("image %s not found", refOrId));
    metadata.setPinned(id, pinned);
  }

  /**
   * Removes blobs and layer snapshots that no image references and no container uses. Waits for in-flight pulls and
   * imports to finish first.
   */
  public GcResult gc() {
    gcLock.writeLock().lock();
    try {
      beforeCollect.run();
      return GarbageCollector.collect(metadata, content, snapshotter, layersInUse);
    } finally {
      gcLock.writeLock().unlock();
    }
  }

  /** Runs {@link #gc} on a virtual thread; calls while one runs coalesce into one more run. */
  private void requestGc() {
    gcRequested.set(true);
    if (closed || !gcRunning.compareAndSet(false, true)) {
      return;
    }
    gcThread = Thread.ofVirtual().name("berth-image-gc").start(() -> {
      try {
        while (!closed && gcRequested.getAndSet(false)) {
          try {
            gc();
          } catch (RuntimeException e) {
            log.warn("background garbage collection failed: {}", e.toString());
          }
        }
      } finally {
        gcRunning.set(false);
        if (gcRequested.get() && !closed) {
          requestGc();
        }
      }
    });
  }

  /**
   * Stops background garbage collection and waits for a running one to finish; the stores stay open (their owner
   * closes them). Idempotent.
   */
  @Override
  public void close() {
    closed = true;
    Thread t = gcThread;
    if (t != null) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  // ---------------------------------------------------------------- usage

  /** What images really occupy on disk: content blobs plus unpacked layers, in bytes and inodes. */
  public FsUsage usage() {
    long contentBytes = content.usageBytes();
    long snapshotBytes = snapshotter.usageBytes();
    long inodes = countInodes(content.root());
    Path mountpoint = content.root();
    for (Digest chainId : snapshotter.layers()) {
      try {
        Path dir = snapshotter.layerDir(chainId);
        mountpoint = dir.getParent() != null && dir.getParent().getParent() != null
            ? dir.getParent().getParent() : dir;
        inodes += countInodes(dir);
      } catch (BerthException e) {
        // removed meanwhile
      }
    }
    return new FsUsage(mountpoint, contentBytes + snapshotBytes, inodes, contentBytes, snapshotBytes);
  }

  private static long countInodes(Path dir) {
    long[] n = {0};
    try {
      Files.walkFileTree(dir, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
          n[0]++;
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) {
          n[0]++;
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path f, IOException e) {
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      // a vanished directory counts what was seen
    }
    return n[0];
  }

  // ---------------------------------------------------------------- archives and push

  /**
   * Imports an OCI image layout archive or a {@code docker save} archive (legacy, or Docker 25+'s OCI-inside form)
   * read from {@code tar} (uncompressed, or gzip). Memory stays bounded whatever the archive says: JSON entries larger
   * than {@code maxConfigBytes} are refused before being read, blobs stream to the content store and are verified.
   * Images without a name in the archive are named {@code tagForUnnamed} if given, else known by id only. Returns the
   * imported images.
   */
  public List<Image> importArchive(InputStream tar, Optional<String> tagForUnnamed) {
    gcLock.readLock().lock();
    try {
      return new ArchiveImporter(config, content, snapshotter, metadata).importArchive(tar, tagForUnnamed).stream()
          .map(views::of).toList();
    } finally {
      gcLock.readLock().unlock();
    }
  }

  /**
   * Writes the images {@code refs} name to {@code out} as one archive; NOT_FOUND if one is unknown. Each image is
   * annotated with the reference it was asked by ({@code io.containerd.image.name} and
   * {@code org.opencontainers.image.ref.name}).
   */
  public void exportArchive(List<String> refs, OutputStream out, ArchiveFormat format) {
    gcLock.readLock().lock();
    try {
      new ArchiveExporter(content, metadata).export(refs, out, format);
    } finally {
      gcLock.readLock().unlock();
    }
  }

  /**
   * Pushes the image {@code ref} names to {@code target} (a reference; its tag, or its digest, names the pushed
   * manifest): the blobs the registry lacks, then the platform manifest.
   */
  public void push(String ref, String target, Optional<Credentials> creds) {
    Image image = get(ref);
    ImageRef dest = ImageRef.parse(target);
    gcLock.readLock().lock();
    try {
      new ImagePusher(content, registry, metadata).push(image.id(), dest, creds);
    } catch (BerthException e) {
      throw BerthException.wrap(e, "push %s to %s", ref, dest);
    } finally {
      gcLock.readLock().unlock();
    }
  }

  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
        Files.delete(f);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
        Files.delete(d);
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
