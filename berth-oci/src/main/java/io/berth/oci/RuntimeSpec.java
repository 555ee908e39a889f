package io.berth.oci;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.berth.core.BerthException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

/**
 * An OCI runtime spec (the bundle's {@code config.json}), runtime-spec 1.0.2, Linux fields only.
 *
 * <p>Absent optional fields are {@code null} and left out of the JSON.
 * See https://github.com/opencontainers/runtime-spec/blob/v1.0.2/config.md
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record RuntimeSpec(
    String ociVersion,
    Process process,
    Root root,
    String hostname,
    List<Mount> mounts,
    Map<String, String> annotations,
    Linux linux) {

  /** The spec version Berth writes: the one runc 1.1 and crun 1.8 implement. */
  public static final String OCI_VERSION = "1.0.2-dev";

  static final ObjectMapper JSON = new ObjectMapper()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  /** The container process. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Process(
      boolean terminal,
      User user,
      List<String> args,
      List<String> env,
      String cwd,
      Capabilities capabilities,
      List<Rlimit> rlimits,
      boolean noNewPrivileges,
      Integer oomScoreAdj,
      String apparmorProfile,
      String selinuxLabel) {}

  /** Process identity; uid and gid are at most 2^31-1. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record User(long uid, long gid, List<Long> additionalGids) {}

  /** Capability sets, names with the {@code CAP_} prefix. */
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Capabilities(
      List<String> bounding,
      List<String> effective,
      List<String> inheritable,
      List<String> permitted,
      List<String> ambient) {}

  /** A POSIX resource limit. */
  public record Rlimit(String type, long hard, long soft) {}

  /** The root filesystem. */
  public record Root(String path, boolean readonly) {}

  /** A mount, in the order the runtime performs it. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Mount(String destination, String type, String source, List<String> options) {}

  /** Linux-specific configuration. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Linux(
      Map<String, String> sysctl,
      Resources resources,
      String cgroupsPath,
      List<Namespace> namespaces,
      List<Device> devices,
      Seccomp seccomp,
      String rootfsPropagation,
      List<String> maskedPaths,
      List<String> readonlyPaths,
      List<IdMapping> uidMappings,
      List<IdMapping> gidMappings) {

    /** Without user namespace mappings. */
    public Linux(Map<String, String> sysctl, Resources resources, String cgroupsPath, List<Namespace> namespaces,
        List<Device> devices, Seccomp seccomp, String rootfsPropagation, List<String> maskedPaths,
        List<String> readonlyPaths) {
      this(sysctl, resources, cgroupsPath, namespaces, devices, seccomp, rootfsPropagation, maskedPaths,
          readonlyPaths, null, null);
    }
  }

  /** A user namespace id mapping: {@code size} ids from {@code containerID} map to ones from {@code hostID}. */
  public record IdMapping(long containerID, long hostID, long size) {}

  /** A namespace to create (no path) or to join (path). */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Namespace(String type, String path) {}

  /** A device node the runtime creates in the container. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Device(String path, String type, long major, long minor, Integer fileMode, Long uid, Long gid) {}

  /** Cgroup limits; also the body of {@code runc update -r -}. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Resources(
      List<DeviceCgroup> devices,
      Memory memory,
      Cpu cpu,
      Pids pids,
      List<HugepageLimit> hugepageLimits,
      Map<String, String> unified) {}

  /** A device cgroup rule. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record DeviceCgroup(boolean allow, String type, Long major, Long minor, String access) {}

  /** Memory limits in bytes. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Memory(Long limit, Long reservation, Long swap) {}

  /** CPU limits. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Cpu(Long shares, Long quota, Long period, String cpus, String mems) {}

  /** Process count limit. */
  public record Pids(long limit) {}

  /** A hugetlb limit for one page size ("2MB", "1GB"). */
  public record HugepageLimit(String pageSize, long limit) {}

  /** A seccomp filter. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Seccomp(String defaultAction, Integer defaultErrnoRet, List<String> architectures, List<Syscall> syscalls) {}

  /** A seccomp rule. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonIgnoreProperties(ignoreUnknown = true)
  public record Syscall(List<String> names, String action, Integer errnoRet, List<SeccompArg> args) {}

  /** A seccomp argument condition. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record SeccompArg(int index, long value, Long valueTwo, String op) {}

  /** This spec as JSON. */
  public String toJson() {
    try {
      return JSON.writeValueAsString(this);
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot serialize runtime spec");
    }
  }

  /** Parses a {@code config.json}. */
  public static RuntimeSpec fromJson(String json) {
    try {
      return JSON.readValue(json, RuntimeSpec.class);
    } catch (IOException e) {
      throw BerthException.invalidArgument("bad runtime spec: %s", e.getMessage());
    }
  }

  /** Writes {@code bundle/config.json} atomically (temp file, then rename). */
  public void writeTo(Path bundle) {
    try {
      Files.createDirectories(bundle);
      Path tmp = bundle.resolve("config.json.tmp");
      Files.writeString(tmp, toJson());
      Files.move(tmp, bundle.resolve("config.json"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot write %s", bundle.resolve("config.json"));
    }
  }

  /** Reads {@code bundle/config.json}. */
  public static RuntimeSpec readFrom(Path bundle) {
    try {
      return fromJson(Files.readString(bundle.resolve("config.json")));
    } catch (IOException e) {
      throw BerthException.notFound("runtime spec in %s: %s", bundle, e.getMessage());
    }
  }

  /** JSON of the resources alone, as {@code runc update --resources -} reads them. */
  public static String resourcesJson(Resources resources) {
    try {
      return JSON.writeValueAsString(resources);
    } catch (IOException e) {
      throw BerthException.internal(e, "cannot serialize resources");
    }
  }
}
