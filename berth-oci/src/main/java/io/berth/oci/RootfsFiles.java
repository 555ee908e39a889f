package io.berth.oci;

import io.berth.core.BerthException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;

/**
 * Reads files of a container rootfs as the container would see them: symlinks are resolved with the rootfs as
 * {@code /}, so no path (absolute link, {@code ..}) leads outside it.
 */
final class RootfsFiles {
  private static final int MAX_LINKS = 40;
  static final int MAX_FILE_BYTES = 8 << 20;

  private RootfsFiles() {}

  /**
   * The host path of {@code containerPath} inside {@code rootfs}, every symlink resolved inside the rootfs. The last
   * component may be missing.
   */
  static Path resolve(Path rootfs, String containerPath) {
    Deque<String> todo = new ArrayDeque<>();
    push(todo, containerPath);
    Deque<String> done = new ArrayDeque<>();
    int links = 0;
    while (!todo.isEmpty()) {
      String part = todo.pop();
      if (part.isEmpty() || part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        if (!done.isEmpty()) {
          done.removeLast();
        }
        continue;
      }
      Path candidate = join(rootfs, done).resolve(part);
      if (Files.isSymbolicLink(candidate)) {
        if (++links > MAX_LINKS) {
          throw BerthException.invalidArgument("too many symlinks resolving %s in the rootfs", containerPath);
        }
        String target;
        try {
          target = Files.readSymbolicLink(candidate).toString();
        } catch (IOException e) {
          throw BerthException.internal(e, "cannot read link %s", candidate);
        }
        if (target.startsWith("/")) {
          done.clear();
        }
        push(todo, target);
        continue;
      }
      done.addLast(part);
    }
    return join(rootfs, done);
  }

  /** The file's text, or empty when it does not exist. Refuses files beyond {@link #MAX_FILE_BYTES}. */
  static Optional<String> read(Path rootfs, String containerPath) {
    Path p = resolve(rootfs, containerPath);
    if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
      return Optional.empty();
    }
    try (InputStream in = Files.newInputStream(p, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
      byte[] data = in.readNBytes(MAX_FILE_BYTES + 1);
      if (data.length > MAX_FILE_BYTES) {
        throw BerthException.invalidArgument("%s in the image is larger than %d bytes", containerPath, MAX_FILE_BYTES);
      }
      return Optional.of(new String(data, StandardCharsets.UTF_8));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot read %s in the rootfs", containerPath);
    }
  }

  private static void push(Deque<String> todo, String path) {
    String[] parts = path.split("/");
    for (int i = parts.length - 1; i >= 0; i--) {
      todo.push(parts[i]);
    }
  }

  private static Path join(Path root, Deque<String> parts) {
    Path p = root;
    for (String s : parts) {
      p = p.resolve(s);
    }
    return p;
  }
}
