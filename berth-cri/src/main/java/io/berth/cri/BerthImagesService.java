package io.berth.cri;

import com.google.protobuf.ByteString;
import io.berth.core.BerthException;
import io.berth.core.Descriptor;
import io.berth.core.Digest;
import io.berth.cri.api.ext.ArchiveChunk;
import io.berth.cri.api.ext.BerthImagesGrpc;
import io.berth.cri.api.ext.ExportRequest;
import io.berth.cri.api.ext.ImportResponse;
import io.berth.cri.api.ext.LayerProgress;
import io.berth.cri.api.ext.PruneRequest;
import io.berth.cri.api.ext.PruneResponse;
import io.berth.cri.api.ext.PullProgress;
import io.berth.cri.api.ext.PullRequest;
import io.berth.cri.api.ext.PushRequest;
import io.berth.cri.api.ext.PushResponse;
import io.berth.image.ArchiveFormat;
import io.berth.image.Image;
import io.berth.image.ImageService;
import io.berth.image.PullListener;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Berth's image calls that CRI lacks: pull with progress, import, export, push, prune. */
final class BerthImagesService extends BerthImagesGrpc.BerthImagesImplBase {
  private static final int CHUNK = 1 << 20;

  private final ImageHandlers handlers;
  private final ImageService images;
  private final Supplier<Set<String>> imagesInUse;

  BerthImagesService(ImageHandlers handlers, ImageService images, Supplier<Set<String>> imagesInUse) {
    this.handlers = handlers;
    this.images = images;
    this.imagesInUse = imagesInUse;
  }

  @Override
  public void pull(PullRequest req, StreamObserver<PullProgress> out) {
    Progress progress = new Progress();
    Thread ticker = Thread.ofVirtual().start(() -> {
      try {
        while (!Thread.currentThread().isInterrupted()) {
          Thread.sleep(200);
          progress.send(out, "");
        }
      } catch (InterruptedException e) {
        // done
      }
    });
    try {
      Image image = handlers.pull(req.getImage(), req.getAuth(), progress);
      ticker.interrupt();
      ticker.join();
      progress.send(out, image.id().toString());
      out.onCompleted();
    } catch (Throwable t) {
      ticker.interrupt();
      out.onError(Rpc.toStatus(t).asRuntimeException());
    }
  }

  /** Collects layer progress from pull threads; sends snapshots of it. */
  private static final class Progress implements PullListener {
    private final Map<Digest, long[]> bytes = new LinkedHashMap<>();
    private final Map<Digest, String> states = new LinkedHashMap<>();
    private long total;

    @Override
    public synchronized void resolved(String ref, Digest manifestDigest, List<Descriptor> layers, long totalBytes) {
      for (Descriptor d : layers) {
        bytes.put(d.digest(), new long[] {d.size(), 0});
        states.put(d.digest(), "waiting");
      }
      total = totalBytes;
    }

    @Override
    public synchronized void layer(Digest blob, LayerState state) {
      states.put(blob, state.name().toLowerCase());
      long[] b = bytes.get(blob);
      if (b != null && (state == LayerState.CACHED || state == LayerState.DONE || state == LayerState.DOWNLOADED)) {
        b[1] = b[0];
      }
    }

    @Override
    public synchronized void bytes(Digest blob, long delta) {
      long[] b = bytes.computeIfAbsent(blob, k -> new long[] {0, 0});
      b[1] = Math.max(0, b[1] + delta);
    }

    void send(StreamObserver<PullProgress> out, String imageRef) {
      PullProgress.Builder p = PullProgress.newBuilder().setImageRef(imageRef);
      synchronized (this) {
        long done = 0;
        for (var e : bytes.entrySet()) {
          long[] b = e.getValue();
          done += Math.min(b[1], b[0]);
          p.addLayers(LayerProgress.newBuilder().setDigest(e.getKey().toString()).setTotal(b[0])
              .setDone(Math.min(b[1], b[0])).setState(states.getOrDefault(e.getKey(), "waiting")));
        }
        p.setTotalBytes(total).setDoneBytes(done);
      }
      synchronized (out) {
        out.onNext(p.build());
      }
    }
  }

  @Override
  public StreamObserver<ArchiveChunk> import_(StreamObserver<ImportResponse> out) {
    ChunkInputStream in = new ChunkInputStream();
    Thread worker = Thread.ofVirtual().start(() -> {
      try {
        String name = in.firstName();
        List<Image> imported = images.importArchive(in, name.isEmpty() ? Optional.empty() : Optional.of(name));
        ImportResponse.Builder r = ImportResponse.newBuilder();
        for (Image i : imported) {
          r.addImageIds(i.id().toString());
          r.addAllImageRefs(i.repoTags().isEmpty() ? List.of(i.id().toString()) : i.repoTags());
        }
        out.onNext(r.build());
        out.onCompleted();
      } catch (Throwable t) {
        in.fail();
        out.onError(Rpc.toStatus(t).asRuntimeException());
      }
    });
    return new StreamObserver<>() {
      @Override
      public void onNext(ArchiveChunk chunk) {
        in.offer(chunk);
      }

      @Override
      public void onError(Throwable t) {
        in.fail();
        worker.interrupt();
      }

      @Override
      public void onCompleted() {
        in.finish();
      }
    };
  }

  /** Chunks from a client stream as an InputStream; bounded so a fast client cannot fill the heap. */
  private static final class ChunkInputStream extends InputStream {
    private static final ArchiveChunk END = ArchiveChunk.getDefaultInstance();
    private final BlockingQueue<ArchiveChunk> queue = new ArrayBlockingQueue<>(16);
    private final java.util.concurrent.CompletableFuture<String> name = new java.util.concurrent.CompletableFuture<>();
    private volatile boolean failed;
    private ByteString current = ByteString.EMPTY;
    private int pos;
    private boolean ended;

    void offer(ArchiveChunk c) {
      name.complete(c.getName());
      try {
        while (!failed && !queue.offer(c, 100, TimeUnit.MILLISECONDS)) {
          // wait for the importer to catch up
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    void finish() {
      name.complete("");
      offer(END);
    }

    void fail() {
      failed = true;
      name.complete("");
      queue.offer(END);
    }

    String firstName() throws Exception {
      return name.get();
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      while (pos >= current.size()) {
        if (ended) {
          return -1;
        }
        try {
          ArchiveChunk c = queue.take();
          if (failed) {
            throw new IOException("import cancelled by the client");
          }
          if (c == END) {
            ended = true;
            return -1;
          }
          current = c.getData();
          pos = 0;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("import interrupted");
        }
      }
      int n = Math.min(len, current.size() - pos);
      current.copyTo(b, pos, off, n);
      pos += n;
      return n;
    }
  }

  @Override
  public void export(ExportRequest req, StreamObserver<ArchiveChunk> out) {
    if (req.getImagesCount() == 0) {
      out.onError(Rpc.toStatus(BerthException.invalidArgument("no image to export")).asRuntimeException());
      return;
    }
    ArchiveFormat format = switch (req.getFormat()) {
      case "", "oci" -> ArchiveFormat.OCI;
      case "docker" -> ArchiveFormat.DOCKER;
      default -> null;
    };
    if (format == null) {
      out.onError(Rpc.toStatus(BerthException.invalidArgument("unknown archive format %s (oci or docker)",
          req.getFormat())).asRuntimeException());
      return;
    }
    var call = (ServerCallStreamObserver<ArchiveChunk>) out;
    try (OutputStream sink = new OutputStream() {
      private final byte[] buf = new byte[CHUNK];
      private int n;

      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
          int k = Math.min(len, buf.length - n);
          System.arraycopy(b, off, buf, n, k);
          n += k;
          off += k;
          len -= k;
          if (n == buf.length) {
            flush();
          }
        }
      }

      @Override
      public void flush() throws IOException {
        if (n == 0) {
          return;
        }
        while (!call.isReady()) {
          if (call.isCancelled()) {
            throw new IOException("export cancelled by the client");
          }
          try {
            Thread.sleep(5);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
          }
        }
        out.onNext(ArchiveChunk.newBuilder().setData(ByteString.copyFrom(buf, 0, n)).build());
        n = 0;
      }
    }) {
      images.exportArchive(req.getImagesList(), sink, format);
      sink.flush();
      out.onCompleted();
    } catch (Throwable t) {
      out.onError(Rpc.toStatus(t).asRuntimeException());
    }
  }

  @Override
  public void push(PushRequest req, StreamObserver<PushResponse> out) {
    try {
      String target = req.getTarget().isEmpty() ? req.getImage() : req.getTarget();
      images.push(req.getImage(), target, ImageHandlers.credentials(req.getAuth()));
      out.onNext(PushResponse.newBuilder().setDigest(images.get(req.getImage()).manifestDigest().toString()).build());
      out.onCompleted();
    } catch (Throwable t) {
      out.onError(Rpc.toStatus(t).asRuntimeException());
    }
  }

  @Override
  public void prune(PruneRequest req, StreamObserver<PruneResponse> out) {
    try {
      // prune() collects garbage itself; what it reclaimed is the drop in real disk usage.
      long before = images.usage().usedBytes();
      List<Image> removed = images.prune(imagesInUse.get());
      long reclaimed = Math.max(0, before - images.usage().usedBytes());
      out.onNext(PruneResponse.newBuilder()
          .addAllRemovedImages(removed.stream().map(i -> i.repoTags().isEmpty() ? i.id().toString()
              : String.join(",", i.repoTags())).toList())
          .setReclaimedBytes(reclaimed)
          .build());
      out.onCompleted();
    } catch (Throwable t) {
      out.onError(Rpc.toStatus(t).asRuntimeException());
    }
  }
}
