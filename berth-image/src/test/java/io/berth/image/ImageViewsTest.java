package io.berth.image;

import static org.assertj.core.api.Assertions.assertThat;

import io.berth.core.Digest;
import io.berth.metadata.ImageRecord;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ImageViewsTest {
  private static final String CONFIG = """
      {"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},
       "config":{"User":"1000","Env":["PATH=/bin"],"Cmd":["sh"],"WorkingDir":"/srv","StopSignal":"SIGQUIT"}}""";
  private static final Digest ID = Digest.sha256(CONFIG.getBytes(StandardCharsets.UTF_8));

  private static ImageRecord record(List<String> names) {
    return new ImageRecord(ID, ID, "application/vnd.oci.image.manifest.v1+json", ID, 42, CONFIG,
        Instant.ofEpochSecond(1), false, List.of(), names);
  }

  @Test
  void of_readsTheConfigAndSplitsNamesIntoTagsAndDigests() {
    Image image = new ImageViews().of(record(List.of("r/a:1", "r/a@" + ID)));

    assertThat(image.id()).isEqualTo(ID);
    assertThat(image.repoTags()).containsExactly("r/a:1");
    assertThat(image.repoDigests()).containsExactly("r/a@" + ID);
    assertThat(image.user()).isEqualTo(Optional.of("1000"));
    assertThat(image.env()).containsExactly("PATH=/bin");
    assertThat(image.cmd()).containsExactly("sh");
    assertThat(image.workingDir()).isEqualTo(Optional.of("/srv"));
    assertThat(image.stopSignal()).isEqualTo(Optional.of("SIGQUIT"));
  }

  @Test
  void of_sameImageAgain_takesItsNamesFromTheNewRecord() {
    ImageViews views = new ImageViews();
    views.of(record(List.of("r/a:1")));

    Image moved = views.of(record(List.of("r/b:2")));

    assertThat(moved.repoTags()).containsExactly("r/b:2");
    assertThat(moved.env()).containsExactly("PATH=/bin");
  }
}
