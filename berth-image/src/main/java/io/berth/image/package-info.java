/**
 * The image side of Berth: pull (resolve, fetch, verify, unpack, record), list and look up images by id, short id,
 * tag or digest, remove, garbage-collect, import and export archives, push. Composes berth-registry, berth-content,
 * berth-snapshot and berth-metadata; it must not depend on the CRI or on the runtime side, which reach it through
 * {@link io.berth.image.ImageService} only.
 */
package io.berth.image;
