package io.berth.image;

/**
 * Archive formats of {@link ImageService#exportArchive}. {@code OCI}: an OCI image layout (oci-layout, index.json,
 * blobs/). {@code DOCKER}: the same plus Docker's {@code manifest.json}, as {@code docker save} writes since Docker 25,
 * so both {@code docker load} and OCI tools read it.
 */
public enum ArchiveFormat { OCI, DOCKER }
