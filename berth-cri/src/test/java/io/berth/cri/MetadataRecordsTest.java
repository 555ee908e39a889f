package io.berth.cri;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.JsonFormat;
import io.berth.cri.api.ContainerConfig;
import io.berth.cri.api.ContainerMetadata;
import io.berth.cri.api.PodSandboxConfig;
import io.berth.cri.api.PodSandboxMetadata;
import io.berth.cri.api.ext.ContainerRecord;
import io.berth.cri.api.ext.SandboxRecord;
import io.berth.metadata.MetadataStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetadataRecordsTest {
  @TempDir Path tmp;
  Path db;
  MetadataStore store;
  MetadataRecords records;

  @BeforeEach
  void open() {
    db = tmp.resolve("berth.db");
    store = MetadataStore.open(db);
    records = new MetadataRecords(store);
  }

  @AfterEach
  void close() {
    store.close();
  }

  private static SandboxRecord sandbox(String id) {
    return SandboxRecord.newBuilder().setId(id).setState(1).setNetnsPath("/run/berth/netns/" + id)
        .setConfig(PodSandboxConfig.newBuilder().setMetadata(PodSandboxMetadata.newBuilder()
            .setName("web").setNamespace("default").setUid("uid-" + id)).putLabels("app", "web"))
        .build();
  }

  private static ContainerRecord container(String id, String sandboxId) {
    return ContainerRecord.newBuilder().setId(id).setSandboxId(sandboxId).setState(2).setExitCode(3)
        .setConfig(ContainerConfig.newBuilder().setMetadata(ContainerMetadata.newBuilder().setName("app"))
            .addCommand("sleep"))
        .build();
  }

  @Test
  void put_thenRead_sameRecordsBack() {
    records.put(sandbox("s1"));
    records.put(container("c1", "s1"));
    records.put(container("c1", "s1").toBuilder().setState(3).build());

    assertThat(records.sandboxes()).containsExactly(sandbox("s1"));
    assertThat(records.containers()).containsExactly(container("c1", "s1").toBuilder().setState(3).build());
  }

  @Test
  void read_recordsWrittenAsJsonBeforeSchemaTwo_stillRead() throws Exception {
    String sandboxJson = JsonFormat.printer().print(sandbox("s1"));
    String containerJson = JsonFormat.printer().print(container("c1", "s1"));
    store.putSandbox(new io.berth.metadata.SandboxRecord("s1", "web_default_uid-s1_0",
        sandboxJson.getBytes(StandardCharsets.UTF_8)));
    store.putContainer(new io.berth.metadata.ContainerRecord("c1", "s1", "s1/app_0",
        containerJson.getBytes(StandardCharsets.UTF_8)));

    assertThat(records.sandboxes()).containsExactly(sandbox("s1"));
    assertThat(records.containers()).containsExactly(container("c1", "s1"));
  }

  @Test
  void read_corruptBinaryRecord_setAsideOthersKept() {
    records.put(sandbox("s1"));
    byte[] good = sandbox("s2").toByteArray();
    byte[] truncated = java.util.Arrays.copyOf(good, good.length / 2);
    store.putSandbox(new io.berth.metadata.SandboxRecord("s2", "broken", truncated));

    assertThat(records.sandboxes()).containsExactly(sandbox("s1"));
    assertThat(records.storedIds()).containsExactlyInAnyOrder("s1", "s2");
  }

  @Test
  void open_databaseOfSchemaOne_keepsItsJsonRecordsReadable() throws Exception {
    store.close();
    Path old = tmp.resolve("old.db");
    String json = JsonFormat.printer().print(sandbox("s9"));
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + old); Statement st = c.createStatement()) {
      st.execute("CREATE TABLE schema_version(version INTEGER NOT NULL)");
      st.execute("INSERT INTO schema_version(version) VALUES (1)");
      st.execute("CREATE TABLE images(id TEXT PRIMARY KEY, target_digest TEXT NOT NULL,"
          + " target_media_type TEXT NOT NULL, manifest_digest TEXT NOT NULL, size INTEGER NOT NULL,"
          + " config_json TEXT NOT NULL, created_ms INTEGER NOT NULL, pinned INTEGER NOT NULL DEFAULT 0)");
      st.execute("CREATE TABLE sandboxes(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, json TEXT NOT NULL)");
      st.execute("CREATE TABLE containers(id TEXT PRIMARY KEY, sandbox_id TEXT NOT NULL, name TEXT NOT NULL UNIQUE,"
          + " json TEXT NOT NULL)");
      st.execute("INSERT INTO sandboxes VALUES ('s9', 'web_default_uid-s9_0', '" + json.replace("'", "''") + "')");
    }
    store = MetadataStore.open(old);
    records = new MetadataRecords(store);

    assertThat(store.schemaVersion()).isEqualTo(2);
    assertThat(records.sandboxes()).containsExactly(sandbox("s9"));
    records.put(sandbox("s9").toBuilder().setState(0).build());
    assertThat(records.sandboxes()).containsExactly(sandbox("s9").toBuilder().setState(0).build());
  }
}
