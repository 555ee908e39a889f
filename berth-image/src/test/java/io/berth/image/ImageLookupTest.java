package io.berth.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.core.BerthException;
import io.berth.core.Digest;
import io.berth.core.ErrorKind;
import io.berth.metadata.ImageRecord;
import io.berth.metadata.MetadataStore;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageLookupTest {
  @TempDir Path tmp;
  MetadataStore md;
  Digest busybox = new Digest("sha256", "ab12" + "0".repeat(60));
  Digest other = new Digest("sha256", "ab12" + "1".repeat(60));
  Digest index = new Digest("sha256", "cd" + "2".repeat(62));

  @BeforeEach
  void setUp() {
    md = MetadataStore.open(tmp.resolve("db/meta.db"));
    put(busybox, "docker.io/library/busybox:latest", "docker.io/library/busybox@" + index,
        "registry.example:5000/team/app:v1");
    put(other, "docker.io/library/alpine:3");
  }

  @AfterEach
  void tearDown() {
    md.close();
  }

  void put(Digest id, String... names) {
    md.putImage(new ImageRecord(id, index, "application/vnd.oci.image.index.v1+json", id, 1, "{}", Instant.EPOCH,
        false, List.of(), List.of(names)));
  }

  @Test
  void find_fullIdAndBareHex() {
    assertThat(ImageLookup.find(md, busybox.toString())).contains(busybox);
    assertThat(ImageLookup.find(md, busybox.hex())).contains(busybox);
  }

  @Test
  void find_unknownFullId_isEmpty() {
    assertThat(ImageLookup.find(md, "sha256:" + "f".repeat(64))).isEmpty();
  }

  @Test
  void find_shortTag_isNormalized() {
    assertThat(ImageLookup.find(md, "busybox")).contains(busybox);
    assertThat(ImageLookup.find(md, "busybox:latest")).contains(busybox);
    assertThat(ImageLookup.find(md, "library/busybox")).contains(busybox);
    assertThat(ImageLookup.find(md, "docker.io/library/busybox:latest")).contains(busybox);
    assertThat(ImageLookup.find(md, "alpine:3")).contains(other);
    assertThat(ImageLookup.find(md, "alpine")).isEmpty();
    assertThat(ImageLookup.find(md, "registry.example:5000/team/app:v1")).contains(busybox);
  }

  @Test
  void find_digestReference() {
    assertThat(ImageLookup.find(md, "busybox@" + index)).contains(busybox);
    assertThat(ImageLookup.find(md, "alpine@" + index)).isEmpty();
  }

  @Test
  void find_uniquePrefix_ofFourOrMore() {
    assertThat(ImageLookup.find(md, "ab120")).contains(busybox);
    assertThat(ImageLookup.find(md, "sha256:ab120")).contains(busybox);
    assertThat(ImageLookup.find(md, "ab1")).isEmpty();
    assertThat(ImageLookup.find(md, "ab121")).contains(other);
  }

  @Test
  void find_ambiguousPrefix_invalidArgument() {
    assertThatThrownBy(() -> ImageLookup.find(md, "ab12"))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.INVALID_ARGUMENT))
        .hasMessageContaining("ambiguous");
  }

  @Test
  void find_garbage_isEmpty() {
    assertThat(ImageLookup.find(md, "")).isEmpty();
    assertThat(ImageLookup.find(md, "UPPER/Case")).isEmpty();
    assertThat(ImageLookup.find(md, "zzzz")).isEmpty();
  }
}
