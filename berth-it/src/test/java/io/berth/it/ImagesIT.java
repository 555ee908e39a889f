package io.berth.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.cri.api.AuthConfig;
import io.berth.cri.api.ExecSyncResponse;
import io.berth.cri.api.Image;
import io.berth.cri.api.ImageFilter;
import io.berth.cri.api.ImageSpec;
import io.berth.cri.api.ImageStatusRequest;
import io.berth.cri.api.ImageStatusResponse;
import io.berth.cri.api.ListImagesRequest;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.PullImageRequest;
import io.berth.cri.api.RemoveImageRequest;
import io.berth.testing.BerthdProcess;
import io.berth.testing.LeakCheck;
import io.berth.testing.LocalRegistry;
import io.berth.testing.TestImages;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The CRI ImageService through berthd's socket, against real registries (anonymous and Basic auth). */
class ImagesIT {
  static final String MAPPED_HOST = "registry.berth.test";

  @RegisterExtension
  @Order(1)
  static final LocalRegistry registry = LocalRegistry.builder().build();

  @RegisterExtension
  @Order(2)
  static final LocalRegistry authRegistry = LocalRegistry.builder().basicAuth("alice", "s3cret").build();

  @RegisterExtension
  @Order(3)
  static final BerthdProcess berthd = BerthdProcess.builder().registryHost(MAPPED_HOST, registry).build();

  @RegisterExtension
  final LeakCheck leaks = berthd.leakCheck();

  private static String pull(String ref) {
    return berthd.images().pullImage(PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(ref))
        .build()).getImageRef();
  }

  private static ImageStatusResponse status(String ref) {
    return berthd.images().imageStatus(ImageStatusRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(ref))
        .build());
  }

  private static void remove(String ref) {
    berthd.images().removeImage(RemoveImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(ref))
        .build());
  }

  @Test
  void pullImage_plainRegistry_addressableByTagIdDigestAndShortId() {
    TestImages.Image image = Cri.busyboxImage();
    TestImages.Pushed pushed = TestImages.push(registry.url(), "it/address", "v1", image, Optional.empty());
    String ref = pull(pushed.reference());
    try {
      String configDigest = image.configDigest().toString();
      assertThat(ref).isEqualTo(configDigest);

      Image byTag = status(pushed.reference()).getImage();
      assertThat(byTag.getId()).isEqualTo(configDigest);
      assertThat(byTag.getRepoTagsList()).contains(pushed.reference());
      assertThat(byTag.getRepoDigestsList()).contains(pushed.byDigest());
      assertThat(byTag.getSize()).isPositive();

      assertThat(status(configDigest).getImage().getId()).isEqualTo(configDigest);
      assertThat(status(pushed.byDigest()).getImage().getId()).isEqualTo(configDigest);
      String shortId = image.configDigest().hex().substring(0, 12);
      assertThat(status(shortId).getImage().getId()).isEqualTo(configDigest);

      List<Image> listed = berthd.images().listImages(ListImagesRequest.getDefaultInstance()).getImagesList();
      assertThat(listed).extracting(Image::getId).contains(configDigest);
      List<Image> filtered = berthd.images().listImages(ListImagesRequest.newBuilder().setFilter(ImageFilter
          .newBuilder().setImage(ImageSpec.newBuilder().setImage(pushed.reference()))).build()).getImagesList();
      assertThat(filtered).extracting(Image::getId).containsExactly(configDigest);
    } finally {
      remove(pushed.reference());
    }
    assertThat(status(pushed.reference()).hasImage()).isFalse();
    assertThat(status(ref).hasImage()).isFalse();
    remove(pushed.reference());
    remove(ref);
  }

  @Test
  void imageStatus_unknownImage_emptyResponse() {
    ImageStatusResponse r = status(registry.host() + "/it/never-pulled:1");
    assertThat(r.hasImage()).isFalse();
    assertThat(status("sha256:" + "ab".repeat(32)).hasImage()).isFalse();
  }

  @Test
  void removeImage_unknownImage_succeeds() {
    remove(registry.host() + "/it/never-pulled:1");
    remove("sha256:" + "cd".repeat(32));
  }

  @Test
  void pullImage_malformedReference_invalidArgument() {
    assertThatThrownBy(() -> pull("UPPER/Case::bad@@ref"))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    assertThatThrownBy(() -> pull(""))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
  }

  @Test
  void pullImage_basicAuthFromAuthConfig_succeedsAndWithoutIsRefused() {
    TestImages.Pushed pushed = TestImages.push(authRegistry, "it/private", "v1", Cri.busyboxImage());
    assertThatThrownBy(() -> pull(pushed.reference()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
    String ref = berthd.images().pullImage(PullImageRequest.newBuilder()
        .setImage(ImageSpec.newBuilder().setImage(pushed.reference()))
        .setAuth(AuthConfig.newBuilder().setUsername("alice").setPassword("s3cret")).build()).getImageRef();
    try {
      assertThat(status(pushed.reference()).getImage().getId()).isEqualTo(ref);
    } finally {
      remove(ref);
    }
  }

  @Test
  void pullImage_hostMappedInConfig_servedByConfiguredServer() {
    TestImages.Image image = Cri.busyboxImage();
    TestImages.push(registry.url(), "it/mapped", "v1", image, Optional.empty());
    String ref = pull(MAPPED_HOST + "/it/mapped:v1");
    try {
      assertThat(ref).isEqualTo(image.configDigest().toString());
      assertThat(status(MAPPED_HOST + "/it/mapped:v1").getImage().getRepoTagsList())
          .contains(MAPPED_HOST + "/it/mapped:v1");
    } finally {
      remove(ref);
    }
  }

  @Test
  void pulledRootfs_inRunningContainer_matchesLayersByteForByte() {
    TestImages.Image image = Cri.busyboxImage();
    TestImages.Pushed pushed = TestImages.push(registry.url(), "it/rootfs", "v1", image, Optional.empty());
    pull(pushed.reference());
    try {
      PodSandboxConfig.Builder pod = Cri.pod(berthd, "rootfs");
      String podId = Cri.runPod(berthd, pod, "");
      String c = Cri.createAndStart(berthd, podId, pod, Cri.container("c", pushed.reference(), "sleep", "3600"));
      List<String> expected = new ArrayList<>();
      StringBuilder script = new StringBuilder();
      for (TestImages.Layer layer : image.layers()) {
        for (TestImages.Entry e : layer.entries()) {
          String path = "/" + e.path();
          switch (e.type()) {
            case FILE -> {
              script.append("stat -c '%n %a %u %g %s' ").append(path).append("; sha256sum ").append(path)
                  .append("; ");
              expected.add("%s %o %d %d %d".formatted(path, e.mode(), e.uid(), e.gid(), e.content().length));
              expected.add(HexFormat.of().formatHex(sha256(e.content())) + "  " + path);
            }
            case DIR -> {
              script.append("stat -c '%n %a %u %g' ").append(path).append("; ");
              expected.add("%s %o %d %d".formatted(path, e.mode() & 07777, e.uid(), e.gid()));
            }
            case SYMLINK -> {
              script.append("echo \"").append(path).append(" -> $(readlink ").append(path).append(")\"; ");
              expected.add(path + " -> " + e.link());
            }
            default -> { }
          }
        }
      }
      ExecSyncResponse r = Cri.exec(berthd, c, "sh", "-c", script.toString());
      assertThat(r.getStderr().toStringUtf8()).isEmpty();
      assertThat(r.getStdout().toString(StandardCharsets.UTF_8).lines().toList()).containsExactlyElementsOf(expected);
    } finally {
      berthd.removeAllPods();
      remove(pushed.reference());
    }
  }

  private static byte[] sha256(byte[] b) {
    try {
      return java.security.MessageDigest.getInstance("SHA-256").digest(b);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
