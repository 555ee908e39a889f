package io.berth.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A log file read line by line as it grows; notices rotation (the path now names another inode, as after the
 * kubelet renames the file and the runtime reopens it).
 */
final class LogFile implements AutoCloseable {

    private final Path path;
    private FileChannel channel;
    private Object fileKey;
    private final ByteArrayOutputStream carry = new ByteArrayOutputStream();
    private final ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);

    LogFile(Path path) {
        this.path = path;
        open();
    }

    private void open() {
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
            fileKey = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
        } catch (NoSuchFileException e) {
            throw new CliException("log file %s does not exist", path);
        } catch (IOException e) {
            throw new CliException(e, "cannot open log file %s: %s", path, e.getMessage());
        }
    }

    /** Complete lines written since the last call; an unterminated last line waits for its newline. */
    List<String> readLines() {
        List<String> lines = new ArrayList<>();
        try {
            while (true) {
                buffer.clear();
                int n = channel.read(buffer);
                if (n <= 0) {
                    break;
                }
                byte[] bytes = buffer.array();
                int start = 0;
                for (int i = 0; i < n; i++) {
                    if (bytes[i] == '\n') {
                        carry.write(bytes, start, i - start);
                        lines.add(carry.toString(StandardCharsets.UTF_8));
                        carry.reset();
                        start = i + 1;
                    }
                }
                carry.write(bytes, start, n - start);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return lines;
    }

    /** True when the path now names a different file than the one open. */
    boolean rotated() {
        try {
            return !Objects.equals(Files.readAttributes(path, BasicFileAttributes.class).fileKey(), fileKey);
        } catch (IOException e) {
            return false; // renamed away and not recreated yet: keep the old one until the new one shows up
        }
    }

    /** Switches to the file the path names now, from its start. Call after draining the old one. */
    void reopen() {
        close();
        carry.reset();
        open();
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // read-only channel: nothing to lose
        }
    }
}
