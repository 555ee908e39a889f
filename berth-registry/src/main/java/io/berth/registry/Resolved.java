package io.berth.registry;

import io.berth.core.Digest;

/**
 * A resolved manifest or index: its verified digest, media type, raw bytes and the endpoint URL that served it.
 */
public record Resolved(Digest digest, String mediaType, byte[] manifest, String endpoint) {}
