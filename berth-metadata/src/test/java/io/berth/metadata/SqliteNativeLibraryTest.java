package io.berth.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sqlite.SQLiteJDBCLoader;
import org.sqlite.util.LibraryLoaderUtil;

class SqliteNativeLibraryTest {
  @TempDir Path dir;

  @Test
  void copyInto_placesTheJarsLibraryPrivatelyNamedByVersion() throws Exception {
    Path lib = SqliteNativeLibrary.copyInto(dir).orElseThrow();

    byte[] expected;
    try (InputStream in = getClass().getResourceAsStream(
        LibraryLoaderUtil.getNativeLibResourcePath() + "/" + LibraryLoaderUtil.getNativeLibName())) {
      expected = in.readAllBytes();
    }
    assertThat(lib.getParent()).isEqualTo(dir);
    assertThat(lib.getFileName().toString()).isEqualTo("libsqlitejdbc-" + SQLiteJDBCLoader.getVersion() + ".so");
    assertThat(Files.readAllBytes(lib)).isEqualTo(expected);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(lib))).isEqualTo("rw-------");
  }

  @Test
  void copyInto_again_keepsTheCopyAndRemovesOtherVersionsAndInterruptedCopies() throws Exception {
    Path first = SqliteNativeLibrary.copyInto(dir).orElseThrow();
    Object inode = Files.getAttribute(first, "unix:ino");
    Files.writeString(dir.resolve("libsqlitejdbc-3.0.0.so"), "an older version");
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

  @Test
  void copyInto_copyOfTheWrongSize_isReplaced() throws Exception {
    Path first = SqliteNativeLibrary.copyInto(dir).orElseThrow();
    byte[] whole = Files.readAllBytes(first);
    Files.write(first, Arrays.copyOf(whole, 1000)); // a copy cut short, under the final name

    Path again = SqliteNativeLibrary.copyInto(dir).orElseThrow();

    assertThat(again).isEqualTo(first);
    assertThat(Files.readAllBytes(again)).isEqualTo(whole);
  }
}
