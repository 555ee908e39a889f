package io.berth.oci;

/**
 * Annotations Berth writes into runtime specs for tools and sandboxed runtimes (gVisor's runsc reads
 * {@code container-type} and {@code sandbox-id} to start a container inside its pod's sandbox). They use the names
 * containerd's CRI writes (pkg/cri/annotations). User annotations are never copied into a spec.
 */
public final class CriAnnotations {
  public static final String CONTAINER_TYPE = "io.kubernetes.cri.container-type";
  public static final String CONTAINER_TYPE_SANDBOX = "sandbox";
  public static final String CONTAINER_TYPE_CONTAINER = "container";
  public static final String SANDBOX_ID = "io.kubernetes.cri.sandbox-id";
  public static final String SANDBOX_NAME = "io.kubernetes.cri.sandbox-name";
  public static final String SANDBOX_NAMESPACE = "io.kubernetes.cri.sandbox-namespace";
  public static final String SANDBOX_UID = "io.kubernetes.cri.sandbox-uid";
  public static final String SANDBOX_LOG_DIRECTORY = "io.kubernetes.cri.sandbox-log-directory";
  public static final String CONTAINER_NAME = "io.kubernetes.cri.container-name";
  public static final String IMAGE_NAME = "io.kubernetes.cri.image-name";

  private CriAnnotations() {}
}
