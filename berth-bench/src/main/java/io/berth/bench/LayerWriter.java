package io.berth.bench;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * Writes one gzip tar layer into a blob directory, computing the compressed digest (the blob) and the uncompressed
 * one (the diff ID) in the same pass. Entries get fixed owners and times so a layer is reproducible.
 */
final class LayerWriter implements AutoCloseable {

    /** A written layer: blob digest and size, and the diff ID, each as "sha256:hex". */
    record Layer(String digest, long size, String diffId, long uncompressedSize) {}

    private static final long MTIME_MILLIS = 1_704_067_200_000L; // 2024-01-01T00:00:00Z

    private final Path blobDir;
    private final Path tmp;
    private final MessageDigest compressed;
    private final MessageDigest uncompressed;
    private final CountingOutputStream compressedCount;
    private final CountingOutputStream uncompressedCount;
    private final TarArchiveOutputStream tar;

    LayerWriter(Path blobDir) throws IOException {
        this.blobDir = blobDir;
        Files.createDirectories(blobDir);
        this.tmp = Files.createTempFile(blobDir, "layer-", ".tmp");
        this.compressed = sha256();
        this.uncompressed = sha256();
        OutputStream file = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16);
        this.compressedCount = new CountingOutputStream(new DigestOutputStream(file, compressed));
        GZIPOutputStream gzip = new GZIPOutputStream(compressedCount, 1 << 16);
        this.uncompressedCount = new CountingOutputStream(new DigestOutputStream(gzip, uncompressed));
        this.tar = new TarArchiveOutputStream(uncompressedCount);
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
    }

    void directory(String name) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name.endsWith("/") ? name : name + "/");
        e.setMode(040755);
        own(e);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
    }

    void symlink(String name, String target) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name, TarArchiveEntry.LF_SYMLINK);
        e.setLinkName(target);
        e.setMode(0120777);
        own(e);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
    }

    /** A regular file of {@code size} bytes whose content {@code writer} streams out. */
    void file(String name, int mode, long size, ContentWriter writer) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setMode(0100000 | mode);
        e.setSize(size);
        own(e);
        tar.putArchiveEntry(e);
        writer.write(tar);
        tar.closeArchiveEntry();
    }

    void file(String name, int mode, Path source) throws IOException {
        file(name, mode, Files.size(source), out -> {
            try (InputStream in = Files.newInputStream(source)) {
                in.transferTo(out);
            }
        });
    }

    interface ContentWriter {
        void write(OutputStream out) throws IOException;
    }

    private static void own(TarArchiveEntry e) {
        e.setUserId(0);
        e.setGroupId(0);
        e.setUserName("root");
        e.setGroupName("root");
        e.setModTime(MTIME_MILLIS);
    }

    /** Finishes the archive and moves the blob to {@code blobDir/<hex>}. */
    Layer finish() throws IOException {
        tar.finish();
        tar.close();
        String hex = HexFormat.of().formatHex(compressed.digest());
        Files.move(tmp, blobDir.resolve(hex), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return new Layer("sha256:" + hex, compressedCount.count(), "sha256:" + HexFormat.of().formatHex(uncompressed.digest()),
                uncompressedCount.count());
    }

    @Override
    public void close() throws IOException {
        Files.deleteIfExists(tmp);
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final class CountingOutputStream extends java.io.FilterOutputStream {
        private long count;

        CountingOutputStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }

        long count() {
            return count;
        }
    }
}
