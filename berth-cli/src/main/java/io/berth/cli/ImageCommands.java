package io.berth.cli;

import com.google.protobuf.ByteString;
import io.berth.cri.api.AuthConfig;
import io.berth.cri.api.Image;
import io.berth.cri.api.ImageFilter;
import io.berth.cri.api.ImageFsInfoRequest;
import io.berth.cri.api.ImageFsInfoResponse;
import io.berth.cri.api.ImageSpec;
import io.berth.cri.api.ImageStatusRequest;
import io.berth.cri.api.ImageStatusResponse;
import io.berth.cri.api.ListImagesRequest;
import io.berth.cri.api.ListImagesResponse;
import io.berth.cri.api.FilesystemUsage;
import io.berth.cri.api.PullImageRequest;
import io.berth.cri.api.RemoveImageRequest;
import io.berth.cri.api.ext.ArchiveChunk;
import io.berth.cri.api.ext.ExportRequest;
import io.berth.cri.api.ext.ImportResponse;
import io.berth.cri.api.ext.PruneRequest;
import io.berth.cri.api.ext.PruneResponse;
import io.berth.cri.api.ext.PullProgress;
import io.berth.cri.api.ext.PullRequest;
import io.berth.cri.api.ext.PushRequest;
import io.berth.cri.api.ext.PushResponse;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code berthctl images}: pull, list, inspect, remove, import, export, push and prune images. */
@Command(name = "images", aliases = {"image", "img"}, description = "Manage images (lists them without a subcommand).",
        subcommands = {ImageCommands.Pull.class, ImageCommands.Ls.class, ImageCommands.Inspect.class,
            ImageCommands.Rm.class, ImageCommands.Import.class, ImageCommands.Export.class, ImageCommands.Push.class,
            ImageCommands.Prune.class, ImageCommands.FsInfo.class})
final class ImageCommands implements Runnable {

    static final Duration PULL_TIMEOUT = Duration.ofMinutes(2);
    private static final int CHUNK = 1024 * 1024;

    @Spec CommandSpec spec;

    @Override
    public void run() {
        Ls ls = new Ls();
        ls.format = Output.Format.table;
        ls.list(Berthctl.out(spec));
    }

    static ImageSpec spec(String image) {
        return ImageSpec.newBuilder().setImage(image).build();
    }

    /** Credentials from {@code --creds user:pass} or {@code --auth base64(user:pass)}. */
    static Optional<AuthConfig> auth(String creds, String auth) {
        if (creds != null) {
            int colon = creds.indexOf(':');
            if (colon < 0) {
                throw new CliException("--creds takes USER:PASSWORD");
            }
            return Optional.of(AuthConfig.newBuilder().setUsername(creds.substring(0, colon))
                    .setPassword(creds.substring(colon + 1)).build());
        }
        if (auth != null) {
            try {
                Base64.getDecoder().decode(auth);
            } catch (IllegalArgumentException e) {
                throw new CliException("--auth takes base64(USER:PASSWORD)");
            }
            return Optional.of(AuthConfig.newBuilder().setAuth(auth).build());
        }
        return Optional.empty();
    }

    /**
     * Pulls with Berth's progress stream, or with plain CRI PullImage when the runtime does not serve it. The
     * stream is cut only when no progress arrives for the timeout; PullImage gets the timeout as its deadline.
     */
    static String pull(CriClient client, String image, Optional<AuthConfig> auth, PullProgressView view) {
        PullRequest.Builder req = PullRequest.newBuilder().setImage(image);
        auth.ifPresent(req::setAuth);
        Duration idle = client.timeout();
        AtomicLong lastProgress = new AtomicLong(System.nanoTime());
        ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pull-watchdog");
            t.setDaemon(true);
            return t;
        });
        try (Context.CancellableContext ctx = Context.current().withCancellation()) {
            watchdog.scheduleAtFixedRate(() -> {
                if (System.nanoTime() - lastProgress.get() > idle.toNanos()) {
                    ctx.cancel(Status.DEADLINE_EXCEEDED.withDescription("no pull progress for " + idle)
                            .asRuntimeException());
                }
            }, 1, 1, TimeUnit.SECONDS);
            return ctx.call(() -> {
                Iterator<PullProgress> it = client.berthImagesStreaming().pull(req.build());
                String ref = "";
                while (it.hasNext()) {
                    PullProgress p = it.next();
                    lastProgress.set(System.nanoTime());
                    view.show(p);
                    if (!p.getImageRef().isEmpty()) {
                        ref = p.getImageRef();
                    }
                }
                return ref;
            });
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.UNIMPLEMENTED) {
                throw cancelCause(e);
            }
        } catch (Exception e) {
            throw e instanceof RuntimeException r ? r : new CliException(e, "%s", e.getMessage());
        } finally {
            watchdog.shutdownNow();
        }
        PullImageRequest.Builder cri = PullImageRequest.newBuilder().setImage(spec(image));
        auth.ifPresent(cri::setAuth);
        return client.images().pullImage(cri.build()).getImageRef();
    }

    private static RuntimeException cancelCause(StatusRuntimeException e) {
        if (e.getStatus().getCode() == Status.Code.CANCELLED && e.getStatus().getCause() instanceof StatusRuntimeException c) {
            return c;
        }
        return e;
    }

    @Command(name = "pull", description = "Pull an image, showing progress per layer.")
    static final class Pull implements Runnable {
        @Spec CommandSpec spec;
        @Parameters(index = "0", paramLabel = "IMAGE") String image;
        @Option(names = "--creds", paramLabel = "USER:PASSWORD", description = "Registry credentials.") String creds;
        @Option(names = "--auth", paramLabel = "BASE64", description = "Registry credentials as base64(USER:PASSWORD).")
        String auth;
        @Option(names = {"-q", "--quiet"}, description = "Print only the image reference.") boolean quiet;

        @Override
        public void run() {
            try (CriClient client = Berthctl.connect(PULL_TIMEOUT)) {
                PrintWriter err = spec.commandLine().getErr();
                PullProgressView view = quiet ? new PullProgressView(new PrintWriter(OutputStream.nullOutputStream()), false)
                        : new PullProgressView(err, System.console() != null && System.console().isTerminal());
                String ref = pull(client, image, auth(creds, auth), view);
                PrintWriter out = Berthctl.out(spec);
                out.println(quiet ? ref : "Image is up to date for " + ref);
            }
        }
    }

    @Command(name = "ls", aliases = "list", description = "List images.")
    static final class Ls implements Runnable {
        @Spec CommandSpec spec;
        @Parameters(index = "0", arity = "0..1", paramLabel = "IMAGE", description = "Only this image.") String image;
        @Option(names = {"-q", "--quiet"}, description = "Only image IDs.") boolean quiet;
        @Option(names = "--digests", description = "Show digests.") boolean digests;
        @Option(names = {"-v", "--verbose"}, description = "Show every field.") boolean verbose;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json.") Output.Format format;

        @Override
        public void run() {
            list(Berthctl.out(spec));
        }

        void list(PrintWriter out) {
            try (CriClient client = Berthctl.connect()) {
                ListImagesRequest.Builder req = ListImagesRequest.newBuilder();
                if (image != null) {
                    req.setFilter(ImageFilter.newBuilder().setImage(spec(image)));
                }
                ListImagesResponse resp = client.images().listImages(req.build());
                List<Image> images = new ArrayList<>(resp.getImagesList());
                images.sort((a, b) -> firstName(a).compareTo(firstName(b)));
                if (format == Output.Format.json) {
                    out.println(Output.json(ListImagesResponse.newBuilder().addAllImages(images)));
                } else if (quiet) {
                    images.forEach(i -> out.println(i.getId()));
                } else if (verbose) {
                    for (Image i : images) {
                        out.println("ID: " + i.getId());
                        i.getRepoTagsList().forEach(t -> out.println("RepoTags: " + t));
                        i.getRepoDigestsList().forEach(d -> out.println("RepoDigests: " + d));
                        out.println("Size: " + i.getSize());
                        if (i.hasUid()) {
                            out.println("Uid: " + i.getUid().getValue());
                        }
                        if (!i.getUsername().isEmpty()) {
                            out.println("Username: " + i.getUsername());
                        }
                        out.println("Pinned: " + i.getPinned());
                        out.println();
                    }
                } else {
                    out.print(table(images, digests).render());
                }
            }
        }

        private static String firstName(Image i) {
            return i.getRepoTagsCount() > 0 ? i.getRepoTags(0)
                    : i.getRepoDigestsCount() > 0 ? i.getRepoDigests(0) : i.getId();
        }
    }

    /** The {@code crictl images} table: one row per tag; untagged images show their repository and {@code <none>}. */
    static Table table(List<Image> images, boolean digests) {
        Table t = digests ? new Table("IMAGE", "TAG", "DIGEST", "IMAGE ID", "SIZE")
                : new Table("IMAGE", "TAG", "IMAGE ID", "SIZE");
        for (Image i : images) {
            String digest = "<none>";
            String digestRepo = "<none>";
            if (i.getRepoDigestsCount() > 0) {
                String rd = i.getRepoDigests(0);
                int at = rd.indexOf('@');
                digestRepo = at < 0 ? rd : rd.substring(0, at);
                digest = at < 0 ? "<none>" : Units.shortId(rd.substring(at + 1));
            }
            List<String[]> pairs = new ArrayList<>();
            for (String tag : i.getRepoTagsList()) {
                pairs.add(splitTag(tag));
            }
            if (pairs.isEmpty()) {
                pairs.add(new String[] {digestRepo, "<none>"});
            }
            for (String[] p : pairs) {
                if (digests) {
                    t.row(p[0], p[1], digest, Units.shortId(i.getId()), Units.size(i.getSize()));
                } else {
                    t.row(p[0], p[1], Units.shortId(i.getId()), Units.size(i.getSize()));
                }
            }
        }
        return t;
    }

    /** {@code registry:5000/repo:tag} to {@code [registry:5000/repo, tag]}. */
    static String[] splitTag(String repoTag) {
        int slash = repoTag.lastIndexOf('/');
        int colon = repoTag.lastIndexOf(':');
        if (colon > slash) {
            return new String[] {repoTag.substring(0, colon), repoTag.substring(colon + 1)};
        }
        return new String[] {repoTag, "<none>"};
    }

    @Command(name = "inspect", description = "Show an image's status and verbose info as JSON.")
    static final class Inspect implements Runnable {
        @Spec CommandSpec spec;
        @Parameters(arity = "1..*", paramLabel = "IMAGE") List<String> images;

        @Override
        public void run() {
            try (CriClient client = Berthctl.connect()) {
                List<String> missing = new ArrayList<>();
                for (String image : images) {
                    ImageStatusResponse r = client.images().imageStatus(
                            ImageStatusRequest.newBuilder().setImage(spec(image)).setVerbose(true).build());
                    if (!r.hasImage()) {
                        missing.add(image);
                        continue;
                    }
                    Berthctl.out(spec).println(Output.statusAndInfo(r.getImage(), r.getInfoMap()));
                }
                if (!missing.isEmpty()) {
                    throw new CliException("no such image: %s", String.join(", ", missing));
                }
            }
        }
    }

    @Command(name = "rm", aliases = {"remove", "rmi"}, description = "Remove images.")
    static final class Rm implements Runnable {
        @Spec CommandSpec spec;
        @Parameters(arity = "0..*", paramLabel = "IMAGE") List<String> images = new ArrayList<>();
        @Option(names = "--prune", description = "Remove every image no container uses (same as images prune).")
        boolean prune;

        @Override
        public void run() {
            if (prune) {
                new Prune().prune(Berthctl.out(spec));
                return;
            }
            if (images.isEmpty()) {
                throw new CliException("images rm needs at least one IMAGE (or --prune)");
            }
            try (CriClient client = Berthctl.connect()) {
                List<String> missing = new ArrayList<>();
                PrintWriter out = Berthctl.out(spec);
                for (String image : images) {
                    ImageStatusResponse r = client.images().imageStatus(
                            ImageStatusRequest.newBuilder().setImage(spec(image)).build());
                    if (!r.hasImage()) {
                        missing.add(image);
                        continue;
                    }
                    client.images().removeImage(RemoveImageRequest.newBuilder().setImage(spec(r.getImage().getId())).build());
                    if (r.getImage().getRepoTagsCount() == 0) {
                        out.println("Deleted: " + r.getImage().getId());
                    }
                    r.getImage().getRepoTagsList().forEach(t -> out.println("Deleted: " + t));
                }
                if (!missing.isEmpty()) {
                    throw new CliException("no such image: %s", String.join(", ", missing));
                }
            }
        }
    }

    @Command(name = "import", description = "Import an OCI image layout or docker-save archive (FILE or - for stdin).")
    static final class Import implements Runnable {
        @Spec CommandSpec spec;
        @Parameters(index = "0", paramLabel = "FILE") String file;
        @Option(names = "--name", description = "Name for an image the archive leaves unnamed.") String name;

        @Override
        public void run() {
            try (CriClient client = Berthctl.connect();
                    InputStream in = file.equals("-") ? System.in : Files.newInputStream(Path.of(file))) {
                ImportResponse r = send(client, in);
                PrintWriter out = Berthctl.out(spec);
                for (int i = 0; i < r.getImageRefsCount(); i++) {
                    String id = i < r.getImageIdsCount() ? "  " + r.getImageIds(i) : "";
                    out.println(r.getImageRefs(i) + id);
                }
            } catch (IOException e) {
                throw new CliException(e, "cannot read %s: %s", file, e.getMessage());
            }
        }

        /** Streams the archive in 1 MiB chunks, waiting whenever gRPC's flow control says the server is behind. */
        private ImportResponse send(CriClient client, InputStream in) throws IOException {
            CompletableFuture<ImportResponse> result = new CompletableFuture<>();
            Object ready = new Object();
            var responses = new ClientResponseObserver<ArchiveChunk, ImportResponse>() {
                @Override
                public void beforeStart(ClientCallStreamObserver<ArchiveChunk> requests) {
                    requests.setOnReadyHandler(() -> {
                        synchronized (ready) {
                            ready.notifyAll();
                        }
                    });
                }

                @Override
                public void onNext(ImportResponse value) {
                    result.complete(value);
                }

                @Override
                public void onError(Throwable t) {
                    result.completeExceptionally(t);
                }

                @Override
                public void onCompleted() {
                    result.complete(ImportResponse.getDefaultInstance());
                }
            };
            var requests = (ClientCallStreamObserver<ArchiveChunk>) client.berthImagesAsync().import_(responses);
            byte[] buf = new byte[CHUNK];
            boolean first = true;
            while (!result.isDone()) {
                int n = in.readNBytes(buf, 0, CHUNK);
                if (n <= 0) {
                    break;
                }
                synchronized (ready) {
                    while (!requests.isReady() && !result.isDone()) {
                        try {
                            ready.wait(100);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            requests.cancel("interrupted", e);
                            throw new CliException("interrupted");
                        }
                    }
                }
                ArchiveChunk.Builder chunk = ArchiveChunk.newBuilder().setData(ByteString.copyFrom(buf, 0, n));
                if (first && name != null) {
                    chunk.setName(name);
                }
                first = false;
                requests.onNext(chunk.build());
            }
            if (!result.isDone()) {
                requests.onCompleted();
            }
            try {
                return result.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CliException("interrupted");
            } catch (ExecutionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : new CliException(e.getCause(), "import failed");
            }
        }
    }

    @Command(name = "export", description = "Export images as an OCI image layout (or docker-save) archive.")
    static final class Export implements Runnable {
        @Spec CommandSpec spec;
        @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "Archive to write (- for stdout).")
        String output;
        @Option(names = "--format", defaultValue = "oci", description = "oci or docker (default ${DEFAULT-VALUE}).")
        String format;
        @Parameters(arity = "1..*", paramLabel = "IMAGE") List<String> images;

        @Override
        public void run() {
            if (!format.equals("oci") && !format.equals("docker")) {
                throw new CliException("--format must be oci or docker, not %s", format);
            }
            ExportRequest req = ExportRequest.newBuilder().addAllImages(images).setFormat(format).build();
            try (CriClient client = Berthctl.connect()) {
                if (output.equals("-")) {
                    write(client, req, System.out);
                    System.out.flush();
                    return;
                }
                Path target = Path.of(output).toAbsolutePath();
                Path tmp = target.resolveSibling("." + target.getFileName() + ".berthctl-tmp");
                try {
                    try (OutputStream out = Files.newOutputStream(tmp)) {
                        write(client, req, out);
                    }
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } finally {
                    Files.deleteIfExists(tmp);
                }
            } catch (IOException e) {
                throw new CliException(e, "cannot write %s: %s", output, e.getMessage());
            }
        }

        private static void write(CriClient client, ExportRequest req, OutputStream out) throws IOException {
            Iterator<ArchiveChunk> it = client.berthImagesStreaming().export(req);
            while (it.hasNext()) {
                it.next().getData().writeTo(out);
            }
        }
    }

    @Command(name = "push", description = "Push an image to a registry, optionally under another name.")
    static final class Push implements Runnable {
        @Spec CommandSpec spec;
        @Parameters(index = "0", paramLabel = "IMAGE") String image;
        @Parameters(index = "1", arity = "0..1", paramLabel = "TARGET") String target;
        @Option(names = "--creds", paramLabel = "USER:PASSWORD", description = "Registry credentials.") String creds;
        @Option(names = "--auth", paramLabel = "BASE64", description = "Registry credentials as base64(USER:PASSWORD).")
        String auth;

        @Override
        public void run() {
            try (CriClient client = Berthctl.connect(PULL_TIMEOUT)) {
                PushRequest.Builder req = PushRequest.newBuilder().setImage(image);
                if (target != null) {
                    req.setTarget(target);
                }
                auth(creds, auth).ifPresent(req::setAuth);
                PushResponse r = client.berthImages().push(req.build());
                Berthctl.out(spec).println("Pushed " + (target == null ? image : target) + "@" + r.getDigest());
            }
        }
    }

    @Command(name = "prune", description = "Remove every image no container uses, then unreferenced content.")
    static final class Prune implements Runnable {
        @Spec CommandSpec spec;

        @Override
        public void run() {
            prune(Berthctl.out(spec));
        }

        void prune(PrintWriter out) {
            try (CriClient client = Berthctl.connect(PULL_TIMEOUT)) {
                PruneResponse r = client.berthImages().prune(PruneRequest.getDefaultInstance());
                r.getRemovedImagesList().forEach(i -> out.println("Deleted: " + i));
                out.println("Total reclaimed space: " + Units.size(r.getReclaimedBytes()));
            }
        }
    }

    @Command(name = "fsinfo", description = "Show the image and container filesystems' usage.")
    static final class FsInfo implements Runnable {
        @Spec CommandSpec spec;
        @Option(names = {"-o", "--output"}, defaultValue = "table", description = "table or json.") Output.Format format;

        @Override
        public void run() {
            try (CriClient client = Berthctl.connect()) {
                ImageFsInfoResponse r = client.images().imageFsInfo(ImageFsInfoRequest.getDefaultInstance());
                if (format == Output.Format.json) {
                    Berthctl.out(spec).println(Output.json(r));
                    return;
                }
                Table t = new Table("FILESYSTEM", "MOUNTPOINT", "USED", "INODES");
                for (FilesystemUsage u : r.getImageFilesystemsList()) {
                    t.row("image", u.getFsId().getMountpoint(), Units.size(u.getUsedBytes().getValue()),
                            u.getInodesUsed().getValue());
                }
                for (FilesystemUsage u : r.getContainerFilesystemsList()) {
                    t.row("container", u.getFsId().getMountpoint(), Units.size(u.getUsedBytes().getValue()),
                            u.getInodesUsed().getValue());
                }
                Berthctl.out(spec).print(t.render());
            }
        }
    }
}
