package io.berth.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test that leaves OS resources behind: mounts (from {@code /proc/self/mountinfo}) under a scope dir,
 * network namespaces pinned in given dirs, live conmon processes working for the scope (zombies do not count: PID 1
 * reaps lazily here), cgroup dirs named {@code berth-*} under a cgroup parent in every hierarchy of
 * {@code /sys/fs/cgroup}, and id-named entries (containing 16+ hex digits) of watched dirs. A snapshot is taken
 * before each test and compared after it, also after a failed test; changes made by other processes outside the
 * scope (a concurrent daemon) are not seen. Since resources are released asynchronously (conmon exits after its
 * container), the comparison retries for a few seconds before it fails.
 * <pre>
 * {@literal @}RegisterExtension final LeakCheck leaks = berthd.leakCheck();
 * </pre>
 */
public final class LeakCheck implements BeforeEachCallback, AfterEachCallback {
  private static final Pattern ID = Pattern.compile(".*[0-9a-f]{16}.*");
  private static final long SETTLE_MILLIS = 15_000;
  /**
   * Command names of the processes a container leaves on the host: conmon; for gVisor the sandbox and gofers
   * (runsc re-executes /proc/self/exe, so "exe", with {@code --root=<state>} on their command line) and the proxy
   * of a sub-container (berth-runtime's gvisor-subcontainer script, its name cut to 15 characters).
   */
  public static final List<String> MONITOR_COMMS = List.of("conmon", "exe", "gvisor-subconta");

  private final Builder b;
  private Snapshot before;

  private LeakCheck(Builder b) {
    this.b = b;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** What a {@link LeakCheck} looks at; suppliers are read at each snapshot (dirs may be made after building). */
  public static final class Builder {
    private Supplier<Path> scope;
    private Supplier<List<Path>> ignoredMountPoints = List::of;
    private Supplier<List<Path>> netnsDirs = () -> List.of(Path.of("/run/netns"));
    private Supplier<String> cgroupParent = () -> "/berth";
    private Supplier<List<Path>> watchDirs = List::of;
    private Supplier<Set<String>> ignoredIds = Set::of;
    private Runnable beforeCompare = () -> { };

    /** The dir whose mounts and whose conmon processes (by command line) are checked. */
    public Builder scope(Supplier<Path> dir) {
      scope = dir;
      return this;
    }

    public Builder ignoreMountPoints(Supplier<List<Path>> paths) {
      ignoredMountPoints = paths;
      return this;
    }

    public Builder netnsDirs(Supplier<List<Path>> dirs) {
      netnsDirs = dirs;
      return this;
    }

    /** A cgroup path such as {@code /bit-abc123}: its {@code berth-*} children are checked in every hierarchy. */
    public Builder cgroupParent(Supplier<String> parent) {
      cgroupParent = parent;
      return this;
    }

    public Builder watchDirs(Supplier<List<Path>> dirs) {
      watchDirs = dirs;
      return this;
    }

    /**
     * Ids of what the daemon keeps by design between tests (spare rootfs made ahead): mounts and files whose path
     * mentions one of them are not compared. Read at the start and at the end of each snapshot.
     */
    public Builder ignoreIds(Supplier<Set<String>> ids) {
      ignoredIds = ids;
      return this;
    }

    /** Runs before the after-test snapshot (e.g. removing the test's pods through the API). */
    public Builder beforeCompare(Runnable r) {
      beforeCompare = r;
      return this;
    }

    public LeakCheck build() {
      if (scope == null) {
        throw new IllegalArgumentException("a scope dir is required");
      }
      return new LeakCheck(this);
    }
  }

  /** What was found: each set is sorted, for readable differences. */
  public record Snapshot(Set<String> mounts, Set<String> netns, Set<String> conmons, Set<String> cgroups,
      Set<String> files) {}

  @Override
  public void beforeEach(ExtensionContext context) {
    before = snapshot();
  }

  @Override
  public void afterEach(ExtensionContext context) {
    Throwable cleanupError = null;
    try {
      b.beforeCompare.run();
    } catch (RuntimeException e) {
      cleanupError = e;
    }
    assertNoLeaks(before);
    if (cleanupError != null) {
      throw new AssertionError("cleaning up the test's pods failed: " + cleanupError, cleanupError);
    }
  }

  /** Takes a snapshot now. */
  public Snapshot snapshot() {
    Set<String> ignoredIds = new TreeSet<>(b.ignoredIds.get());
    Path scope = b.scope.get();
    Set<String> ignored = new TreeSet<>();
    b.ignoredMountPoints.get().forEach(p -> ignored.add(p.toString()));
    Set<String> mounts = new TreeSet<>(mountPointsUnder(scope));
    mounts.removeAll(ignored);
    Set<String> netns = new TreeSet<>();
    for (Path d : b.netnsDirs.get()) {
      list(d, 1).forEach(netns::add);
    }
    Set<String> conmons = new TreeSet<>();
    for (String comm : MONITOR_COMMS) {
      for (long pid : processesMentioning(scope.toString(), comm)) {
        conmons.add(pid + " " + cmdline(pid));
      }
    }
    Set<String> cgroups = new TreeSet<>();
    String parent = b.cgroupParent.get().replaceFirst("^/+", "");
    for (Path ctrl : cgroupControllers()) {
      Path p = parent.isEmpty() ? ctrl : ctrl.resolve(parent);
      for (String child : list(p, 1)) {
        if (Path.of(child).getFileName().toString().startsWith("berth-") && Files.isDirectory(Path.of(child))) {
          cgroups.add(child);
        }
      }
    }
    Set<String> files = new TreeSet<>();
    for (Path d : b.watchDirs.get()) {
      for (String f : list(d, 3)) {
        if (ID.matcher(Path.of(f).getFileName().toString()).matches()) {
          files.add(f);
        }
      }
    }
    ignoredIds.addAll(b.ignoredIds.get());
    if (!ignoredIds.isEmpty()) {
      mounts.removeIf(m -> ignoredIds.stream().anyMatch(m::contains));
      files.removeIf(f -> ignoredIds.stream().anyMatch(f::contains));
    }
    return new Snapshot(mounts, netns, conmons, cgroups, files);
  }

  /** Compares with {@code before}, retrying for a while; throws an AssertionError naming every difference. */
  public void assertNoLeaks(Snapshot before) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SETTLE_MILLIS);
    String diff;
    do {
      diff = diff(before, snapshot());
      if (diff.isEmpty()) {
        return;
      }
      try {
        Thread.sleep(250);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    } while (System.nanoTime() < deadline);
    throw new AssertionError("leaked resources:\n" + diff);
  }

  static String diff(Snapshot a, Snapshot z) {
    StringBuilder s = new StringBuilder();
    diff(s, "mount", a.mounts(), z.mounts());
    diff(s, "netns", a.netns(), z.netns());
    diff(s, "monitor process", a.conmons(), z.conmons());
    diff(s, "cgroup", a.cgroups(), z.cgroups());
    diff(s, "file", a.files(), z.files());
    return s.toString();
  }

  private static void diff(StringBuilder s, String what, Set<String> before, Set<String> after) {
    for (String x : after) {
      if (!before.contains(x)) {
        s.append("  + ").append(what).append(' ').append(x).append('\n');
      }
    }
    for (String x : before) {
      if (!after.contains(x)) {
        s.append("  - ").append(what).append(' ').append(x).append(" (gone: removed by someone else?)\n");
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Probes, also used by BerthdProcess's cleanup

  /** Mount points at or under {@code dir}, from {@code /proc/self/mountinfo} (octal escapes decoded). */
  public static List<String> mountPointsUnder(Path dir) {
    String prefix = dir.toString();
    List<String> out = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
        String[] f = line.split(" ");
        if (f.length > 4) {
          String mp = unescape(f[4]);
          if (mp.equals(prefix) || mp.startsWith(prefix + "/")) {
            out.add(mp);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  private static String unescape(String s) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 3 < s.length()) {
        out.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  /**
   * Live (not zombie) processes whose command name is {@code comm} and whose command line mentions {@code text}.
   */
  public static List<Long> processesMentioning(String text, String comm) {
    List<Long> out = new ArrayList<>();
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
        long pid = Long.parseLong(p.getFileName().toString());
        String stat;
        try {
          stat = Files.readString(p.resolve("stat"));
        } catch (IOException e) {
          continue;
        }
        int open = stat.indexOf('(');
        int close = stat.lastIndexOf(')');
        if (open < 0 || close < 0 || close + 2 >= stat.length()) {
          continue;
        }
        String name = stat.substring(open + 1, close);
        char state = stat.charAt(close + 2);
        if (state == 'Z' || state == 'X' || !name.equals(comm)) {
          continue;
        }
        if (cmdline(pid).contains(text)) {
          out.add(pid);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  static String cmdline(long pid) {
    try {
      return new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8)
          .replace('\0', ' ').strip();
    } catch (IOException e) {
      return "";
    }
  }

  /** The mounted cgroup hierarchies: {@code /sys/fs/cgroup/<controller>} dirs (or the v2 root itself). */
  public static List<Path> cgroupControllers() {
    Path root = Path.of("/sys/fs/cgroup");
    if (Files.exists(root.resolve("cgroup.controllers"))) {
      return List.of(root);
    }
    List<Path> out = new ArrayList<>();
    try (Stream<Path> s = Files.list(root)) {
      for (Path p : s.sorted().toList()) {
        if (Files.isDirectory(p) && !Files.isSymbolicLink(p)
            && (Files.exists(p.resolve("cgroup.procs")))) {
          out.add(p);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  private static List<String> list(Path dir, int depth) {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> s = Files.walk(dir, depth)) {
      return s.filter(p -> !p.equals(dir)).map(Path::toString).toList();
    } catch (NoSuchFileException e) {
      return List.of();
    } catch (IOException | UncheckedIOException e) {
      // entries vanish while walking (a pod being removed): try once more
      try (Stream<Path> s = Files.walk(dir, depth)) {
        return s.filter(p -> !p.equals(dir)).map(Path::toString).toList();
      } catch (IOException | UncheckedIOException e2) {
        return List.of();
      }
    }
  }
}
