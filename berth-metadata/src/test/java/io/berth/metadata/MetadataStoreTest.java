package io.berth.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.berth.core.BerthException;
import io.berth.core.Digest;
import io.berth.core.ErrorKind;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetadataStoreTest {
  @TempDir Path tmp;
  Path db;
  MetadataStore store;

  @BeforeEach
  void open() {
    db = tmp.resolve("meta/berth.db");
    store = MetadataStore.open(db);
  }

  @AfterEach
  void close() {
    store.close();
  }

  static Digest d(String s) {
    return Digest.sha256(s.getBytes(StandardCharsets.UTF_8));
  }

  static ImageRecord image(String seed, String... names) {
    List<LayerRecord> layers = List.of(
        new LayerRecord(d(seed + "c0"), d(seed + "d0"), d(seed + "b0"), "application/vnd.oci.image.layer.v1.tar+gzip", 10),
        new LayerRecord(d(seed + "c1"), d(seed + "d1"), d(seed + "b1"), "application/vnd.oci.image.layer.v1.tar+zstd", 20));
    return new ImageRecord(d(seed + "config"), d(seed + "index"), "application/vnd.oci.image.index.v1+json",
        d(seed + "manifest"), 35, "{\"seed\":\"" + seed + "\"}", Instant.ofEpochMilli(1_700_000_000_123L), false,
        layers, List.of(names));
  }

  private static byte[] b(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  @Test
  void open_newDatabase_isWalWithPrivateModesAndCurrentSchema() throws Exception {
    store.putValue("k", "v"); // forces the WAL file into existence
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(db.getParent()))).isEqualTo("rwx------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(db))).isEqualTo("rw-------");
    Path wal = Path.of(db + "-wal");
    assertThat(wal).exists();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(wal))).isEqualTo("rw-------");
    assertThat(store.schemaVersion()).isEqualTo(SqliteMetadataStore.MIGRATIONS.size());
    try (var c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("PRAGMA journal_mode")) {
      rs.next();
      assertThat(rs.getString(1)).isEqualToIgnoringCase("wal");
    }
  }

  @Test
  void open_databaseFromNewerBerth_failsPrecondition() throws Exception {
    store.close();
    try (var c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement()) {
      st.execute("UPDATE schema_version SET version = 999");
    }
    assertThatThrownBy(() -> MetadataStore.open(db))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.FAILED_PRECONDITION))
        .hasMessageContaining("999");
  }

  @Test
  void open_schemaOneDatabase_keepsSandboxAndContainerJsonAsTheirBytes() throws Exception {
    store.close();
    Files.delete(db);
    Files.deleteIfExists(Path.of(db + "-wal"));
    Files.deleteIfExists(Path.of(db + "-shm"));
    try (var c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE schema_version(version INTEGER NOT NULL)");
      st.execute("INSERT INTO schema_version(version) VALUES (0)");
      for (String sql : SqliteMetadataStore.MIGRATIONS.getFirst()) {
        st.execute(sql);
      }
      st.execute("UPDATE schema_version SET version = 1");
      st.execute("INSERT INTO sandboxes VALUES ('s1', 'pod-a', '{\"state\":1}')");
      st.execute("INSERT INTO containers VALUES ('c1', 's1', 'ctr-a', '{\"é\":2}')");
    }
    store = MetadataStore.open(db);
    assertThat(store.schemaVersion()).isEqualTo(2);
    assertThat(store.sandboxes()).containsExactly(new SandboxRecord("s1", "pod-a", b("{\"state\":1}")));
    assertThat(store.containers()).containsExactly(new ContainerRecord("c1", "s1", "ctr-a", b("{\"é\":2}")));
  }

  @Test
  void putSandbox_binaryData_roundTripsEveryByte() {
    byte[] all = new byte[256];
    for (int i = 0; i < all.length; i++) {
      all[i] = (byte) i;
    }
    store.putSandbox(new SandboxRecord("s1", "pod-a", all));
    store.close();
    store = MetadataStore.open(db);
    assertThat(store.sandbox("s1")).contains(new SandboxRecord("s1", "pod-a", all));
  }

  @Test
  void putImage_thenReopen_roundTripsEverything() {
    ImageRecord img = image("a", "docker.io/library/a:latest", "docker.io/library/a@" + d("aindex"));
    assertThat(store.putImage(img)).isEmpty();
    store.close();
    store = MetadataStore.open(db);
    assertThat(store.image(img.id())).contains(img);
    assertThat(store.images()).containsExactly(img);
    assertThat(store.imageIdByName("docker.io/library/a:latest")).contains(img.id());
  }

  @Test
  void putImage_again_keepsOldNamesAndAddsNew() {
    ImageRecord img = image("a", "docker.io/library/a:1");
    store.putImage(img);
    store.putImage(img.withNames(List.of("docker.io/library/a:2")));
    assertThat(store.image(img.id()).orElseThrow().names())
        .containsExactly("docker.io/library/a:1", "docker.io/library/a:2");
    assertThat(store.image(img.id()).orElseThrow().layers()).hasSize(2);
  }

  @Test
  void putImage_tagHeldByOtherImage_movesTagAndKeepsOtherNames() {
    ImageRecord a = image("a", "docker.io/library/x:latest", "docker.io/library/x@" + d("aindex"));
    ImageRecord b = image("b", "docker.io/library/x:latest");
    store.putImage(a);
    assertThat(store.putImage(b)).isEmpty();
    assertThat(store.imageIdByName("docker.io/library/x:latest")).contains(b.id());
    assertThat(store.image(a.id()).orElseThrow().names()).containsExactly("docker.io/library/x@" + d("aindex"));
  }

  @Test
  void putImage_lastNameMoved_deletesOrphanedImage() {
    ImageRecord a = image("a", "docker.io/library/x:latest");
    ImageRecord b = image("b", "docker.io/library/x:latest");
    store.putImage(a);
    assertThat(store.putImage(b)).containsExactly(a.id());
    assertThat(store.image(a.id())).isEmpty();
    assertThat(store.referencedChainIds()).doesNotContain(a.layers().get(0).chainId());
  }

  @Test
  void imageIdsByPrefix_matchesHexOnly() {
    ImageRecord a = image("a", "docker.io/library/a:latest");
    store.putImage(a);
    assertThat(store.imageIdsByPrefix(a.id().hex().substring(0, 5))).containsExactly(a.id());
    assertThat(store.imageIdsByPrefix("sha256")).isEmpty();
    assertThat(store.imageIdsByPrefix("%")).isEmpty();
  }

  @Test
  void deleteImage_cascadesNamesAndLayers() {
    ImageRecord a = image("a", "docker.io/library/a:latest");
    store.putImage(a);
    assertThat(store.deleteImage(a.id())).isTrue();
    assertThat(store.deleteImage(a.id())).isFalse();
    assertThat(store.imageIdByName("docker.io/library/a:latest")).isEmpty();
    assertThat(store.referencedBlobs()).isEmpty();
    assertThat(store.referencedChainIds()).isEmpty();
  }

  @Test
  void removeName_leavesImage() {
    ImageRecord a = image("a", "docker.io/library/a:latest");
    store.putImage(a);
    assertThat(store.removeName("docker.io/library/a:latest")).contains(a.id());
    assertThat(store.removeName("docker.io/library/a:latest")).isEmpty();
    assertThat(store.image(a.id()).orElseThrow().names()).isEmpty();
  }

  @Test
  void referenced_listsEveryBlobAndChainId() {
    ImageRecord a = image("a", "docker.io/library/a:latest", "docker.io/library/a@" + d("other-index"));
    store.putImage(a);
    assertThat(store.referencedBlobs()).containsExactlyInAnyOrder(a.id(), a.targetDigest(), a.manifestDigest(),
        d("ab0"), d("ab1"), d("other-index"));
    assertThat(store.referencedChainIds()).containsExactlyInAnyOrder(d("ac0"), d("ac1"));
  }

  @Test
  void setPinned_persists() {
    ImageRecord a = image("a", "docker.io/library/a:latest");
    store.putImage(a);
    assertThat(store.setPinned(a.id(), true)).isTrue();
    assertThat(store.image(a.id()).orElseThrow().pinned()).isTrue();
    assertThat(store.setPinned(d("nope"), true)).isFalse();
  }

  @Test
  void keyValue_putGetDelete() {
    assertThat(store.value("k")).isEmpty();
    store.putValue("k", "1");
    store.putValue("k", "2");
    assertThat(store.value("k")).contains("2");
    store.deleteValue("k");
    assertThat(store.value("k")).isEmpty();
  }

  @Test
  void sandboxes_putGetListDelete() {
    store.putSandbox(new SandboxRecord("s1", "pod-a", b("{}")));
    store.putSandbox(new SandboxRecord("s1", "pod-a", b("{\"state\":1}")));
    store.putSandbox(new SandboxRecord("s2", "pod-b", b("{}")));
    assertThat(store.sandbox("s1")).contains(new SandboxRecord("s1", "pod-a", b("{\"state\":1}")));
    assertThat(store.sandboxes()).extracting(SandboxRecord::id).containsExactly("s1", "s2");
    assertThat(store.deleteSandbox("s1")).isTrue();
    assertThat(store.deleteSandbox("s1")).isFalse();
    assertThat(store.sandbox("s1")).isEmpty();
  }

  @Test
  void putSandbox_nameHeldByOtherId_alreadyExistsAndNothingChanges() {
    store.putSandbox(new SandboxRecord("s1", "pod-a", b("{}")));
    assertThatThrownBy(() -> store.putSandbox(new SandboxRecord("s2", "pod-a", b("{}"))))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.ALREADY_EXISTS))
        .hasMessageContaining("pod-a");
    assertThat(store.sandboxes()).extracting(SandboxRecord::id).containsExactly("s1");
  }

  @Test
  void putSandbox_afterARefusedWrite_theNextWritesLand() {
    store.putSandbox(new SandboxRecord("s1", "pod-a", b("{}")));
    assertThatThrownBy(() -> store.putSandbox(new SandboxRecord("s2", "pod-a", b("{}"))))
        .isInstanceOf(BerthException.class);

    store.putSandbox(new SandboxRecord("s2", "pod-b", b("{\"n\":2}")));
    store.putSandbox(new SandboxRecord("s1", "pod-a", b("{\"n\":1}")));

    assertThat(store.sandboxes()).containsExactly(new SandboxRecord("s1", "pod-a", b("{\"n\":1}")),
        new SandboxRecord("s2", "pod-b", b("{\"n\":2}")));
  }

  @Test
  void writes_afterClose_failPreconditionAndReopenSeesThem() {
    store.putContainer(new ContainerRecord("c1", "s1", "ctr-a", b("{}")));
    store.close();
    assertThatThrownBy(() -> store.putContainer(new ContainerRecord("c2", "s1", "ctr-b", b("{}"))))
        .isInstanceOfSatisfying(BerthException.class,
            e -> assertThat(e.kind()).isEqualTo(ErrorKind.FAILED_PRECONDITION));

    store = MetadataStore.open(db);
    assertThat(store.containers()).extracting(ContainerRecord::id).containsExactly("c1");
  }

  @Test
  void containers_putGetListBySandboxDelete() {
    store.putContainer(new ContainerRecord("c1", "s1", "ctr-a", b("{}")));
    store.putContainer(new ContainerRecord("c2", "s2", "ctr-b", b("{}")));
    assertThat(store.containersOf("s1")).extracting(ContainerRecord::id).containsExactly("c1");
    assertThat(store.containers()).hasSize(2);
    assertThatThrownBy(() -> store.putContainer(new ContainerRecord("c3", "s1", "ctr-b", b("{}"))))
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.ALREADY_EXISTS));
    assertThat(store.deleteContainer("c1")).isTrue();
    assertThat(store.container("c1")).isEmpty();
    assertThat(store.container("c2")).contains(new ContainerRecord("c2", "s2", "ctr-b", b("{}")));
  }

  @Test
  void putImage_concurrentWriters_allSucceed() throws Exception {
    try (var ex = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<?>> fs = new ArrayList<>();
      for (int i = 0; i < 32; i++) {
        int n = i;
        fs.add(ex.submit(() -> store.putImage(image("img" + n, "docker.io/library/img" + n + ":latest"))));
      }
      for (Future<?> f : fs) {
        f.get();
      }
    }
    assertThat(store.images()).hasSize(32);
  }

  @Test
  void close_thenUse_failsPrecondition() {
    store.close();
    store.close();
    assertThatThrownBy(() -> store.images())
        .isInstanceOfSatisfying(BerthException.class, e -> assertThat(e.kind()).isEqualTo(ErrorKind.FAILED_PRECONDITION));
  }
}
