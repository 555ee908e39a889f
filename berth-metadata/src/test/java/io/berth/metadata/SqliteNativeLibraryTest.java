package io.berth.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.util.LibraryLoaderUtil;

class SqliteNativeLibraryTest {
  @TempDir Path dir;

  @Test
  void copyInto_placesTheJarsLibraryPrivatelyNamedByContent() throws Exception {
    Path lib = SqliteNativeLibrary.copyInto(dir).orElseThrow();

    byte[] expected;
    try (InputStream in = getClass().getResourceAsStream(
        LibraryLoaderUtil.getNativeLibResourcePath() + "/" + LibraryLoaderUtil.getNativeLibName())) {
      expected = in.readAllBytes();
    }
    assertThat(lib.getParent()).isEqualTo(dir);
    assertThat(lib.getFileName().toString()).matches("libsqlitejdbc-[0-9a-f]{16}\\.so");
    assertThat(Files.readAllBytes(lib)).isEqualTo(expected);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(lib))).isEqualTo("rw-------");
  }

  @Test
  void copyInto_again_keepsTheCopyAndRemovesOtherVersionsAndInterruptedCopies() throws Exception {
    Path first = SqliteNativeLibrary.copyInto(dir).orElseThrow();
    Object inode = Files.getAttribute(first, "unix:ino");
    Files.writeString(dir.resolve("libsqlitejdbc-0123456789abcdef.so"), "an older version");
    Files.writeString(dir.resolve(".tmp-libsqlitejdbc-123.so"), "a copy cut short by a crash");
    Files.writeString(dir.resolve("berth.db"), "not ours to touch");

    Path second = SqliteNativeLibrary.copyInto(dir).orElseThrow();

    assertThat(second).isEqualTo(first);
    assertThat(Files.getAttribute(second, "unix:ino")).isEqualTo(inode);
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder(first.getFileName().toString(), "berth.db");
    }
  }
}
