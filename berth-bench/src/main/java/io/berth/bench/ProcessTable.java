package io.berth.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/** A snapshot of /proc: pid, parent, name, state and command line of every process. */
final class ProcessTable {

    record Proc(int pid, int ppid, String comm, char state, String cmdline) {}

    /** Resident and proportional set sizes in KiB, from /proc/PID/smaps_rollup. */
    record Memory(long rssKib, long pssKib) {
        Memory plus(Memory o) {
            return new Memory(rssKib + o.rssKib, pssKib + o.pssKib);
        }

        static final Memory ZERO = new Memory(0, 0);
    }

    private final Map<Integer, Proc> byPid;

    private ProcessTable(Map<Integer, Proc> byPid) {
        this.byPid = byPid;
    }

    static ProcessTable read() {
        Map<Integer, Proc> procs = new HashMap<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(Path.of("/proc"))) {
            for (Path p : dir) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                readProc(Integer.parseInt(name)).ifPresent(proc -> procs.put(proc.pid(), proc));
            }
        } catch (IOException e) {
            throw new BenchException("cannot list /proc: " + e.getMessage(), e);
        }
        return new ProcessTable(procs);
    }

    static java.util.Optional<Proc> readProc(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
            // comm is in parentheses and may contain spaces or parentheses: split at the last ')'.
            int open = stat.indexOf('(');
            int close = stat.lastIndexOf(')');
            String comm = stat.substring(open + 1, close);
            String[] rest = stat.substring(close + 2).split(" ");
            char state = rest[0].charAt(0);
            int ppid = Integer.parseInt(rest[1]);
            byte[] raw = Files.readAllBytes(Path.of("/proc", Integer.toString(pid), "cmdline"));
            String cmdline = new String(raw, StandardCharsets.UTF_8).replace('\0', ' ').strip();
            return java.util.Optional.of(new Proc(pid, ppid, comm, state, cmdline));
        } catch (IOException | RuntimeException e) {
            return java.util.Optional.empty(); // gone meanwhile
        }
    }

    List<Proc> all() {
        return new ArrayList<>(byPid.values());
    }

    java.util.Optional<Proc> get(int pid) {
        return java.util.Optional.ofNullable(byPid.get(pid));
    }

    /**
     * The roots and all their descendants, skipping zombies, and skipping (with their subtrees) processes that
     * {@code exclude} matches.
     */
    Set<Proc> treesOf(Set<Integer> roots, Predicate<Proc> exclude) {
        Map<Integer, List<Proc>> children = new HashMap<>();
        for (Proc p : byPid.values()) {
            children.computeIfAbsent(p.ppid(), k -> new ArrayList<>()).add(p);
        }
        Set<Proc> out = new LinkedHashSet<>();
        ArrayDeque<Proc> queue = new ArrayDeque<>();
        roots.stream().map(byPid::get).filter(p -> p != null).forEach(queue::add);
        while (!queue.isEmpty()) {
            Proc p = queue.poll();
            if (exclude.test(p) || !out.add(p)) {
                continue;
            }
            queue.addAll(children.getOrDefault(p.pid(), List.of()));
        }
        out.removeIf(p -> p.state() == 'Z' || p.state() == 'X');
        return out;
    }

    static Memory memory(int pid) {
        long rss = 0;
        long pss = 0;
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "smaps_rollup"))) {
                if (line.startsWith("Rss:")) {
                    rss = kib(line);
                } else if (line.startsWith("Pss:")) {
                    pss = kib(line);
                }
            }
        } catch (IOException e) {
            return Memory.ZERO; // exited meanwhile
        }
        return new Memory(rss, pss);
    }

    private static long kib(String line) {
        String[] parts = line.trim().split("\\s+");
        return Long.parseLong(parts[1]);
    }
}
