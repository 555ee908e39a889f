/**
 * OCI distribution client: resolves manifests and indexes, streams blobs into the content store with resume and
 * retries, pushes blobs and manifests, and handles anonymous, Basic and Bearer-token auth and per-host mirrors.
 * {@link io.berth.registry.RegistryClient} is the entry point; one package-private class per endpoint does the work
 * (Jib's registry package). Depends on berth-core and berth-content only; knows nothing of images or snapshots.
 */
package io.berth.registry;
