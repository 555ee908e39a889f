package io.berth.metadata;

import io.berth.core.BerthException;
import io.berth.core.Digest;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/** {@link MetadataStore} on one SQLite connection in WAL mode. */
final class SqliteMetadataStore implements MetadataStore {
  private static final Logger log = LoggerFactory.getLogger(SqliteMetadataStore.class);

  /** Schema migrations; entry i takes the schema from version i to i+1. Append only, never edit a released entry. */
  static final List<List<String>> MIGRATIONS = List.of(
      List.of(
          """
          CREATE TABLE images(
            id TEXT PRIMARY KEY,
            target_digest TEXT NOT NULL,
            target_media_type TEXT NOT NULL,
            manifest_digest TEXT NOT NULL,
            size INTEGER NOT NULL,
            config_json TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            pinned INTEGER NOT NULL DEFAULT 0)""",
          """
          CREATE TABLE image_names(
            name TEXT PRIMARY KEY,
            image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE)""",
          "CREATE INDEX image_names_by_image ON image_names(image_id)",
          """
          CREATE TABLE image_layers(
            image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
            idx INTEGER NOT NULL,
            chain_id TEXT NOT NULL,
            diff_id TEXT NOT NULL,
            blob_digest TEXT NOT NULL,
            media_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            PRIMARY KEY(image_id, idx))""",
          "CREATE TABLE kv(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
          "CREATE TABLE sandboxes(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, json TEXT NOT NULL)",
          """
          CREATE TABLE containers(
            id TEXT PRIMARY KEY,
            sandbox_id TEXT NOT NULL,
            name TEXT NOT NULL UNIQUE,
            json TEXT NOT NULL)""",
          "CREATE INDEX containers_by_sandbox ON containers(sandbox_id)"),
      // Sandbox and container records become opaque bytes (the runtime side writes binary protobuf: printing them as
      // JSON was the largest share of berthd's CPU per pod); the JSON text of earlier records is kept as its bytes.
      List.of(
          "ALTER TABLE sandboxes ADD COLUMN data BLOB NOT NULL DEFAULT x''",
          "UPDATE sandboxes SET data = CAST(json AS BLOB)",
          "ALTER TABLE sandboxes DROP COLUMN json",
          "ALTER TABLE containers ADD COLUMN data BLOB NOT NULL DEFAULT x''",
          "UPDATE containers SET data = CAST(json AS BLOB)",
          "ALTER TABLE containers DROP COLUMN json"));

  private static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");
  private static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");

  private final Path file;
  private final Connection conn;
  private final ReentrantLock lock = new ReentrantLock();
  /** Compiled write statements by their SQL (see {@link #update}); guarded by {@link #lock}. */
  private final Map<String, PreparedStatement> writes = new HashMap<>();
  private boolean closed;

  private SqliteMetadataStore(Path file, Connection conn) {
    this.file = file;
    this.conn = conn;
  }

  static SqliteMetadataStore open(Path dbFile) {
    Path file = dbFile.toAbsolutePath();
    try {
      Path dir = file.getParent();
      if (!Files.isDirectory(dir)) {
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(DIR_MODE));
        Files.setPosixFilePermissions(dir, DIR_MODE); // umask may have narrowed nothing, but be exact
      } else if (!Files.getPosixFilePermissions(dir).equals(DIR_MODE)) {
        log.warn("metadata directory {} is not mode 0700", dir);
      }
      try {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(FILE_MODE));
      } catch (FileAlreadyExistsException e) {
        // reopened after a restart
      }
      Files.setPosixFilePermissions(file, FILE_MODE);
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot create metadata database %s", file);
    }
    SqliteNativeLibrary.placeIn(file.getParent());
    Connection c;
    try {
      c = DriverManager.getConnection("jdbc:sqlite:" + file);
    } catch (SQLException e) {
      throw BerthException.internal(e, "cannot open metadata database %s", file);
    }
    SqliteMetadataStore store = new SqliteMetadataStore(file, c);
    try {
      try (Statement st = c.createStatement()) {
        st.execute("PRAGMA journal_mode=WAL");
        st.execute("PRAGMA synchronous=NORMAL"); // WAL + NORMAL: durable across process crashes, one fsync per checkpoint
        st.execute("PRAGMA foreign_keys=ON");
        st.execute("PRAGMA busy_timeout=10000");
      }
      store.migrate();
    } catch (SQLException | RuntimeException e) {
      store.close();
      throw e instanceof BerthException b ? b : BerthException.internal(e, "cannot open metadata database %s", file);
    }
    return store;
  }

  private void migrate() throws SQLException {
    try (Statement st = conn.createStatement()) {
      st.execute("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)");
    }
    int current = tx(c -> {
      try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT version FROM schema_version")) {
        if (rs.next()) {
          return rs.getInt(1);
        }
      }
      try (Statement st = c.createStatement()) {
        st.execute("INSERT INTO schema_version(version) VALUES (0)");
      }
      return 0;
    });
    if (current > MIGRATIONS.size()) {
      throw BerthException.failedPrecondition(
          "metadata database %s has schema version %d, newer than this Berth's %d", file, current, MIGRATIONS.size());
    }
    for (int v = current; v < MIGRATIONS.size(); v++) {
      int from = v;
      tx(c -> {
        try (Statement st = c.createStatement()) {
          for (String sql : MIGRATIONS.get(from)) {
            st.execute(sql);
          }
          st.execute("UPDATE schema_version SET version = " + (from + 1));
        }
        return null;
      });
      log.info("metadata database {} migrated to schema version {}", file, from + 1);
    }
  }

  @Override
  public int schemaVersion() {
    return tx(c -> {
      try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT version FROM schema_version")) {
        rs.next();
        return rs.getInt(1);
      }
    });
  }

  // ---------------------------------------------------------------- transactions

  @FunctionalInterface
  private interface Work<T> {
    T run(Connection c) throws SQLException;
  }

  private <T> T tx(Work<T> work) {
    lock.lock();
    try {
      if (closed) {
        throw BerthException.failedPrecondition("metadata database %s is closed", file);
      }
      conn.setAutoCommit(false);
      try {
        T result = work.run(conn);
        conn.commit();
        return result;
      } catch (SQLException | RuntimeException e) {
        try {
          conn.rollback();
        } catch (SQLException re) {
          e.addSuppressed(re);
        }
        throw e;
      } finally {
        conn.setAutoCommit(true);
      }
    } catch (SQLException e) {
      throw translate(e);
    } finally {
      lock.unlock();
    }
  }

  private BerthException translate(SQLException e) {
    if (e instanceof SQLiteException se) {
      SQLiteErrorCode code = se.getResultCode();
      if (code == SQLiteErrorCode.SQLITE_CONSTRAINT_UNIQUE || code == SQLiteErrorCode.SQLITE_CONSTRAINT_PRIMARYKEY) {
        return new BerthException(io.berth.core.ErrorKind.ALREADY_EXISTS, "already exists: " + se.getMessage(), e);
      }
      if (code == SQLiteErrorCode.SQLITE_FULL) {
        return new BerthException(io.berth.core.ErrorKind.RESOURCE_EXHAUSTED,
            "metadata database " + file + ": disk full", e);
      }
    }
    return BerthException.internal(e, "metadata database %s", file);
  }

  // ---------------------------------------------------------------- images

  @Override
  public List<Digest> putImage(ImageRecord image) {
    return tx(c -> {
      String id = image.id().toString();
      try (PreparedStatement ps = c.prepareStatement("""
          INSERT INTO images(id, target_digest, target_media_type, manifest_digest, size, config_json, created_ms, pinned)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT(id) DO UPDATE SET target_digest = excluded.target_digest,
            target_media_type = excluded.target_media_type, manifest_digest = excluded.manifest_digest,
            size = excluded.size, config_json = excluded.config_json, pinned = excluded.pinned""")) {
        ps.setString(1, id);
        ps.setString(2, image.targetDigest().toString());
        ps.setString(3, image.targetMediaType());
        ps.setString(4, image.manifestDigest().toString());
        ps.setLong(5, image.size());
        ps.setString(6, image.configJson());
        ps.setLong(7, image.created().toEpochMilli());
        ps.setInt(8, image.pinned() ? 1 : 0);
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM image_layers WHERE image_id = ?")) {
        ps.setString(1, id);
        ps.executeUpdate();
      }
      try (PreparedStatement ps = c.prepareStatement("""
          INSERT INTO image_layers(image_id, idx, chain_id, diff_id, blob_digest, media_type, size)
          VALUES (?, ?, ?, ?, ?, ?, ?)""")) {
        int i = 0;
        for (LayerRecord l : image.layers()) {
          ps.setString(1, id);
          ps.setInt(2, i++);
          ps.setString(3, l.chainId().toString());
          ps.setString(4, l.diffId().toString());
          ps.setString(5, l.blobDigest().toString());
          ps.setString(6, l.mediaType());
          ps.setLong(7, l.size());
          ps.addBatch();
        }
        ps.executeBatch();
      }
      Set<String> losers = new TreeSet<>();
      for (String name : image.names()) {
        Optional<String> previous = nameTarget(c, name);
        if (previous.isPresent() && !previous.get().equals(id)) {
          losers.add(previous.get());
        }
        try (PreparedStatement ps = c.prepareStatement("""
            INSERT INTO image_names(name, image_id) VALUES (?, ?)
            ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id""")) {
          ps.setString(1, name);
          ps.setString(2, id);
          ps.executeUpdate();
        }
      }
      List<Digest> deleted = new ArrayList<>();
      for (String loser : losers) {
        try (PreparedStatement ps = c.prepareStatement(
            "DELETE FROM images WHERE id = ? AND NOT EXISTS (SELECT 1 FROM image_names WHERE image_id = ?)")) {
          ps.setString(1, loser);
          ps.setString(2, loser);
          if (ps.executeUpdate() > 0) {
            deleted.add(Digest.parse(loser));
          }
        }
      }
      return deleted;
    });
  }

  private static Optional<String> nameTarget(Connection c, String name) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT image_id FROM image_names WHERE name = ?")) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
      }
    }
  }

  @Override
  public Optional<ImageRecord> image(Digest id) {
    return tx(c -> {
      List<ImageRecord> found = loadImages(c, Optional.of(id.toString()));
      return found.isEmpty() ? Optional.empty() : Optional.of(found.getFirst());
    });
  }

  @Override
  public List<ImageRecord> images() {
    return tx(c -> loadImages(c, Optional.empty()));
  }

  private record Row(Digest id, Digest target, String targetType, Digest manifest, long size, String config,
      Instant created, boolean pinned) {}

  private static List<ImageRecord> loadImages(Connection c, Optional<String> onlyId) throws SQLException {
    String where = onlyId.isPresent() ? " WHERE id = ?" : "";
    Map<String, Row> rows = new LinkedHashMap<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT id, target_digest, target_media_type, manifest_digest, size,"
        + " config_json, created_ms, pinned FROM images" + where + " ORDER BY id")) {
      if (onlyId.isPresent()) {
        ps.setString(1, onlyId.get());
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          rows.put(rs.getString(1), new Row(Digest.parse(rs.getString(1)), Digest.parse(rs.getString(2)),
              rs.getString(3), Digest.parse(rs.getString(4)), rs.getLong(5), rs.getString(6),
              Instant.ofEpochMilli(rs.getLong(7)), rs.getInt(8) != 0));
        }
      }
    }
    Map<String, List<LayerRecord>> layers = new LinkedHashMap<>();
    Map<String, List<String>> names = new LinkedHashMap<>();
    String whereImage = onlyId.isPresent() ? " WHERE image_id = ?" : "";
    try (PreparedStatement ps = c.prepareStatement("SELECT image_id, chain_id, diff_id, blob_digest, media_type, size"
        + " FROM image_layers" + whereImage + " ORDER BY image_id, idx")) {
      if (onlyId.isPresent()) {
        ps.setString(1, onlyId.get());
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          layers.computeIfAbsent(rs.getString(1), k -> new ArrayList<>()).add(new LayerRecord(
              Digest.parse(rs.getString(2)), Digest.parse(rs.getString(3)), Digest.parse(rs.getString(4)),
              rs.getString(5), rs.getLong(6)));
        }
      }
    }
    try (PreparedStatement ps = c.prepareStatement("SELECT image_id, name FROM image_names" + whereImage)) {
      if (onlyId.isPresent()) {
        ps.setString(1, onlyId.get());
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          names.computeIfAbsent(rs.getString(1), k -> new ArrayList<>()).add(rs.getString(2));
        }
      }
    }
    List<ImageRecord> out = new ArrayList<>(rows.size());
    for (Row r : rows.values()) {
      String k = r.id.toString();
      out.add(new ImageRecord(r.id, r.target, r.targetType, r.manifest, r.size, r.config, r.created, r.pinned,
          layers.getOrDefault(k, List.of()), names.getOrDefault(k, List.of())));
    }
    return out;
  }

  @Override
  public Optional<Digest> imageIdByName(String name) {
    return tx(c -> nameTarget(c, name).map(Digest::parse));
  }

  @Override
  public List<Digest> imageIdsByPrefix(String hexPrefix) {
    if (!hexPrefix.matches("[0-9a-f]*")) {
      return List.of();
    }
    return tx(c -> {
      List<Digest> out = new ArrayList<>();
      // ids are "alg:hex"; match the hex part of any algorithm. The prefix is hex only, so LIKE needs no escaping.
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT id FROM images WHERE substr(id, instr(id, ':') + 1) LIKE ? ORDER BY id")) {
        ps.setString(1, hexPrefix + "%");
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(Digest.parse(rs.getString(1)));
          }
        }
      }
      return out;
    });
  }

  @Override
  public boolean deleteImage(Digest id) {
    return tx(c -> update(c, "DELETE FROM images WHERE id = ?", id.toString()) > 0);
  }

  @Override
  public Optional<Digest> removeName(String name) {
    return tx(c -> {
      Optional<String> target = nameTarget(c, name);
      if (target.isPresent()) {
        update(c, "DELETE FROM image_names WHERE name = ?", name);
      }
      return target.map(Digest::parse);
    });
  }

  @Override
  public boolean setPinned(Digest id, boolean pinned) {
    return tx(c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE images SET pinned = ? WHERE id = ?")) {
        ps.setInt(1, pinned ? 1 : 0);
        ps.setString(2, id.toString());
        return ps.executeUpdate() > 0;
      }
    });
  }

  @Override
  public Set<Digest> referencedBlobs() {
    return tx(c -> digests(c, """
        SELECT id FROM images UNION SELECT target_digest FROM images UNION SELECT manifest_digest FROM images
        UNION SELECT blob_digest FROM image_layers
        UNION SELECT substr(name, instr(name, '@') + 1) FROM image_names WHERE instr(name, '@') > 0"""));
  }

  @Override
  public Set<Digest> referencedChainIds() {
    return tx(c -> digests(c, "SELECT DISTINCT chain_id FROM image_layers"));
  }

  private static Set<Digest> digests(Connection c, String sql) throws SQLException {
    Set<Digest> out = new TreeSet<>();
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        out.add(Digest.parse(rs.getString(1)));
      }
    }
    return out;
  }

  /**
   * Runs a write with its statement compiled once per store (a pod start writes its records five times, and compiling
   * the statement was most of a write's cost until the JIT got to it); arguments are strings, or byte arrays for
   * blobs. Runs under {@link #lock}, as every use of the connection does.
   */
  private int update(Connection c, String sql, Object... args) throws SQLException {
    PreparedStatement ps = writes.get(sql);
    if (ps == null) {
      ps = c.prepareStatement(sql);
      writes.put(sql, ps);
    }
    ps.clearParameters();
    for (int i = 0; i < args.length; i++) {
      if (args[i] instanceof byte[] bytes) {
        ps.setBytes(i + 1, bytes);
      } else {
        ps.setString(i + 1, (String) args[i]);
      }
    }
    return ps.executeUpdate();
  }

  // ---------------------------------------------------------------- key/value

  @Override
  public Optional<String> value(String key) {
    return tx(c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT value FROM kv WHERE key = ?")) {
        ps.setString(1, key);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
        }
      }
    });
  }

  @Override
  public void putValue(String key, String value) {
    tx(c -> update(c, "INSERT INTO kv(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        key, value));
  }

  @Override
  public void deleteValue(String key) {
    tx(c -> update(c, "DELETE FROM kv WHERE key = ?", key));
  }

  // ---------------------------------------------------------------- sandboxes and containers

  @Override
  public void putSandbox(SandboxRecord s) {
    try {
      tx(c -> update(c, """
          INSERT INTO sandboxes(id, name, data) VALUES (?, ?, ?)
          ON CONFLICT(id) DO UPDATE SET name = excluded.name, data = excluded.data""", s.id(), s.name(), s.data()));
    } catch (BerthException e) {
      throw rename(e, "sandbox name %s is reserved by another sandbox", s.name());
    }
  }

  @Override
  public Optional<SandboxRecord> sandbox(String id) {
    return tx(c -> querySandboxes(c, " WHERE id = ?", id).stream().findFirst());
  }

  @Override
  public List<SandboxRecord> sandboxes() {
    return tx(c -> querySandboxes(c, ""));
  }

  private static List<SandboxRecord> querySandboxes(Connection c, String where, String... args) throws SQLException {
    List<SandboxRecord> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT id, name, data FROM sandboxes" + where + " ORDER BY id")) {
      for (int i = 0; i < args.length; i++) {
        ps.setString(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new SandboxRecord(rs.getString(1), rs.getString(2), rs.getBytes(3)));
        }
      }
    }
    return out;
  }

  @Override
  public boolean deleteSandbox(String id) {
    return tx(c -> update(c, "DELETE FROM sandboxes WHERE id = ?", id) > 0);
  }

  @Override
  public void putContainer(ContainerRecord r) {
    try {
      tx(c -> update(c, """
          INSERT INTO containers(id, sandbox_id, name, data) VALUES (?, ?, ?, ?)
          ON CONFLICT(id) DO UPDATE SET sandbox_id = excluded.sandbox_id, name = excluded.name, data = excluded.data""",
          r.id(), r.sandboxId(), r.name(), r.data()));
    } catch (BerthException e) {
      throw rename(e, "container name %s is reserved by another container", r.name());
    }
  }

  private static BerthException rename(BerthException e, String format, Object... args) {
    if (e.kind() == io.berth.core.ErrorKind.ALREADY_EXISTS) {
      return new BerthException(e.kind(), String.format(format, args), e);
    }
    return e;
  }

  @Override
  public Optional<ContainerRecord> container(String id) {
    return tx(c -> queryContainers(c, " WHERE id = ?", id).stream().findFirst());
  }

  @Override
  public List<ContainerRecord> containers() {
    return tx(c -> queryContainers(c, ""));
  }

  @Override
  public List<ContainerRecord> containersOf(String sandboxId) {
    return tx(c -> queryContainers(c, " WHERE sandbox_id = ?", sandboxId));
  }

  private static List<ContainerRecord> queryContainers(Connection c, String where, String... args)
      throws SQLException {
    List<ContainerRecord> out = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement("SELECT id, sandbox_id, name, data FROM containers" + where + " ORDER BY id")) {
      for (int i = 0; i < args.length; i++) {
        ps.setString(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(new ContainerRecord(rs.getString(1), rs.getString(2), rs.getString(3), rs.getBytes(4)));
        }
      }
    }
    return out;
  }

  @Override
  public boolean deleteContainer(String id) {
    return tx(c -> update(c, "DELETE FROM containers WHERE id = ?", id) > 0);
  }

  @Override
  public void close() {
    lock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      for (PreparedStatement ps : writes.values()) {
        ps.close();
      }
      writes.clear();
      conn.close();
    } catch (SQLException e) {
      log.warn("closing metadata database {}: {}", file, e.toString());
    } finally {
      lock.unlock();
    }
  }
}
