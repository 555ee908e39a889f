package io.berth.bench;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/** Mount, disk-usage and tree-removal chores on the runtimes' private directories. */
final class HostFiles {

    private HostFiles() {}

    /** Mount points at or below {@code dir}, deepest first (from /proc/self/mountinfo; octal escapes decoded). */
    static List<Path> mountsUnder(Path dir) {
        List<Path> out = new ArrayList<>();
        String prefix = dir.toString();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String mp = unescape(line.split(" ")[4]);
                if (mp.equals(prefix) || mp.startsWith(prefix + "/")) {
                    out.add(Path.of(mp));
                }
            }
        } catch (IOException e) {
            throw new BenchException("cannot read mountinfo: " + e.getMessage(), e);
        }
        out.sort(Comparator.comparingInt((Path p) -> p.getNameCount()).reversed());
        return out;
    }

    /** Unmounts everything below {@code dir}; a busy mount is detached lazily. Returns what it unmounted. */
    static List<Path> unmountAllUnder(Path dir) {
        List<Path> done = new ArrayList<>();
        for (int round = 0; round < 5; round++) {
            List<Path> mounts = mountsUnder(dir);
            if (mounts.isEmpty()) {
                break;
            }
            for (Path m : mounts) {
                if (!Exec.run(List.of("umount", m.toString())).ok()) {
                    Exec.run(List.of("umount", "-l", m.toString()));
                }
                done.add(m);
            }
        }
        return done;
    }

    /** Deletes a tree without following symlinks; refuses while anything is still mounted inside it. */
    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        if (!mountsUnder(dir).isEmpty()) {
            throw new BenchException("refusing to delete " + dir + ": still mounted: " + mountsUnder(dir));
        }
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
                    if (exc instanceof NoSuchFileException) {
                        return FileVisitResult.CONTINUE;
                    }
                    throw exc;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new BenchException("cannot delete " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Bytes in regular files below {@code dir} (symlinks not followed). */
    static long diskUsage(Path dir) {
        AtomicLong total = new AtomicLong();
        walk(dir, (file, attrs) -> {
            if (attrs.isRegularFile()) {
                total.addAndGet(attrs.size());
            }
            return true;
        });
        return total.get();
    }

    /** Whether any file below {@code dir} is named exactly one of {@code names} (content-store blobs by hex digest). */
    static boolean anyFileNamed(Path dir, Set<String> names) {
        AtomicBoolean found = new AtomicBoolean();
        walk(dir, (file, attrs) -> {
            if (names.contains(file.getFileName().toString())) {
                found.set(true);
                return false;
            }
            return true;
        });
        return found.get();
    }

    private interface Visitor {
        boolean visit(Path file, BasicFileAttributes attrs);
    }

    private static void walk(Path dir, Visitor visitor) {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    return visitor.visit(file, attrs) ? FileVisitResult.CONTINUE : FileVisitResult.TERMINATE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException exc) {
                    return FileVisitResult.CONTINUE; // removed while walking, or a socket we cannot stat
                }
            });
        } catch (IOException e) {
            throw new BenchException("cannot walk " + dir + ": " + e.getMessage(), e);
        }
    }

    private static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
