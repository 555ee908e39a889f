package io.berth.bench;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Debian's docker-registry (distribution 2.8) on 127.0.0.1 and a free port, storage in a temp dir, plus a minimal
 * OCI distribution push client (monolithic blob upload, then the manifest).
 */
final class LocalRegistry implements AutoCloseable {

    private final Path dir;
    private final int port;
    private final Process process;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private LocalRegistry(Path dir, int port, Process process) {
        this.dir = dir;
        this.port = port;
        this.process = process;
    }

    static LocalRegistry start(Path dir) throws IOException {
        Files.createDirectories(dir.resolve("data"));
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Path config = dir.resolve("config.yml");
        Files.writeString(config, """
                version: 0.1
                log:
                  level: warn
                storage:
                  cache:
                    blobdescriptor: inmemory
                  filesystem:
                    rootdirectory: %s
                  delete:
                    enabled: true
                http:
                  addr: 127.0.0.1:%d
                """.formatted(dir.resolve("data"), port));
        Process p = new ProcessBuilder("/usr/bin/docker-registry", "serve", config.toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("registry.log").toFile())
                .start();
        LocalRegistry r = new LocalRegistry(dir, port, p);
        r.awaitUp();
        return r;
    }

    /** host:port, the registry part of image references. */
    String host() {
        return "127.0.0.1:" + port;
    }

    String url() {
        return "http://" + host();
    }

    long pid() {
        return process.pid();
    }

    String reference(BenchImages.BuiltImage image) {
        return host() + "/" + image.repository() + ":" + image.tag();
    }

    private void awaitUp() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new BenchException("docker-registry exited; see " + dir.resolve("registry.log"));
            }
            try {
                HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create(url() + "/v2/")).build(),
                        HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new BenchException("interrupted waiting for the registry");
            }
            sleep(100);
        }
        throw new BenchException("docker-registry did not answer on " + url() + " in 20 s");
    }

    /** Pushes the blobs that are missing, then the manifest under the image's tag. */
    void push(BenchImages.BuiltImage image) throws IOException, InterruptedException {
        pushBlob(image, image.configDigest());
        for (LayerWriter.Layer l : image.layers()) {
            pushBlob(image, l.digest());
        }
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                        URI.create(url() + "/v2/" + image.repository() + "/manifests/" + image.tag()))
                .header("Content-Type", BenchImages.OCI_MANIFEST)
                .PUT(HttpRequest.BodyPublishers.ofByteArray(image.manifest())).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 201) {
            throw new BenchException("manifest PUT for " + image.repository() + " answered " + r.statusCode() + ": " + r.body());
        }
    }

    private void pushBlob(BenchImages.BuiltImage image, String digest) throws IOException, InterruptedException {
        URI blob = URI.create(url() + "/v2/" + image.repository() + "/blobs/" + digest);
        HttpResponse<Void> head = http.send(HttpRequest.newBuilder(blob).method("HEAD", HttpRequest.BodyPublishers.noBody())
                .build(), HttpResponse.BodyHandlers.discarding());
        if (head.statusCode() == 200) {
            return;
        }
        HttpResponse<String> start = http.send(HttpRequest.newBuilder(
                        URI.create(url() + "/v2/" + image.repository() + "/blobs/uploads/"))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        if (start.statusCode() != 202) {
            throw new BenchException("upload start for " + digest + " answered " + start.statusCode() + ": " + start.body());
        }
        String location = start.headers().firstValue("Location")
                .orElseThrow(() -> new BenchException("upload start gave no Location"));
        URI upload = URI.create(url()).resolve(location);
        String sep = upload.getRawQuery() == null ? "?" : "&";
        URI put = URI.create(upload + sep + "digest=" + digest);
        HttpResponse<String> done = http.send(HttpRequest.newBuilder(put)
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofFile(image.blobDir().resolve(BenchImages.hex(digest))))
                .build(), HttpResponse.BodyHandlers.ofString());
        if (done.statusCode() != 201) {
            throw new BenchException("blob PUT for " + digest + " answered " + done.statusCode() + ": " + done.body());
        }
    }

    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BenchException("interrupted");
        }
    }
}
