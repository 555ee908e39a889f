package io.berth.image;

import io.berth.content.ContentStore;
import io.berth.core.BerthException;
import io.berth.core.Descriptor;
import io.berth.core.Digest;
import io.berth.core.ImageRef;
import io.berth.core.MediaTypes;
import io.berth.metadata.ImageRecord;
import io.berth.metadata.MetadataStore;
import io.berth.registry.Credentials;
import io.berth.registry.RegistryClient;
import io.berth.registry.Resolved;
import io.berth.snapshot.Snapshotter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.Semaphore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pull pipeline, in the manner of Jib's StepsRunner: resolve the reference, choose the platform from an index,
 * fetch the manifest and config (bounded, verified), then for every layer a fetch step and an unpack step on its own
 * virtual thread, so layer N+1 downloads while layer N unpacks; only when every layer is unpacked is the image
 * recorded. A failure records nothing.
 */
final class ImagePuller {
  private static final Logger log = LoggerFactory.getLogger(ImagePuller.class);

  private final ImageConfig config;
  private final ContentStore content;
  private final Snapshotter snapshotter;
  private final RegistryClient registry;
  private final MetadataStore metadata;

  ImagePuller(ImageConfig config, ContentStore content, Snapshotter snapshotter, RegistryClient registry,
      MetadataStore metadata) {
    this.config = config;
    this.content = content;
    this.snapshotter = snapshotter;
    this.registry = registry;
    this.metadata = metadata;
  }

  ImageRecord pull(ImageRef ref, Optional<Credentials> creds, PullListener listener) {
    Resolved resolved = registry.resolve(ref, creds);
    if (resolved.manifest().length > config.maxManifestBytes()) {
      throw BerthException.invalidArgument("manifest %s of %s is %d bytes, more than the limit of %d",
          resolved.digest(), ref, resolved.manifest().length, config.maxManifestBytes());
    }
    String targetType = Manifests.mediaType(resolved.manifest(), nullToEmpty(resolved.mediaType()),
        "manifest " + resolved.digest() + " of " + ref);
    content.put(resolved.digest(), resolved.manifest());
    Descriptor target = new Descriptor(targetType, resolved.digest(), resolved.manifest().length);

    Digest manifestDigest = resolved.digest();
    byte[] manifestBytes = resolved.manifest();
    String manifestType = targetType;
    if (MediaTypes.isIndex(targetType)) {
      List<Manifests.IndexEntry> entries = Manifests.parseIndex(manifestBytes, "index " + resolved.digest() + " of " + ref);
      Manifests.IndexEntry chosen = PlatformMatcher.choose(entries, config.platform()).orElseThrow(
          () -> BerthException.notFound("no manifest for %s in %s", config.platform(), ref));
      Descriptor d = chosen.descriptor();
      if (d.size() > config.maxManifestBytes()) {
        throw BerthException.invalidArgument("manifest %s of %s claims %d bytes, more than the limit of %d",
            d.digest(), ref, d.size(), config.maxManifestBytes());
      }
      manifestBytes = registry.fetchManifest(ref, d.digest(), creds, config.maxManifestBytes());
      if (!Digest.of(d.digest().algorithm(), manifestBytes).equals(d.digest())) {
        throw BerthException.invalidArgument("manifest %s of %s does not match its digest", d.digest(), ref);
      }
      content.put(d.digest(), manifestBytes);
      manifestDigest = d.digest();
      manifestType = Manifests.mediaType(manifestBytes, d.mediaType(), "manifest " + d.digest() + " of " + ref);
    }
    if (!MediaTypes.isManifest(manifestType)) {
      throw BerthException.invalidArgument("%s: unsupported manifest media type %s", ref, manifestType);
    }
    String what = "manifest " + manifestDigest + " of " + ref;
    Manifests.Manifest manifest = Manifests.parseManifest(manifestBytes, manifestType, what);

    long total = manifest.config().size() + manifest.layers().stream().mapToLong(Descriptor::size).sum();
    listener.resolved(ref.toString(), manifestDigest, manifest.layers(), total);

    // Config: bounded before reading, verified by the content store.
    Descriptor configDesc = manifest.config();
    if (configDesc.size() > config.maxConfigBytes()) {
      throw BerthException.invalidArgument("config %s of %s claims %d bytes, more than the limit of %d",
          configDesc.digest(), ref, configDesc.size(), config.maxConfigBytes());
    }
    content.ensure(configDesc.digest(), configDesc.size(),
        ingest -> registry.fetchBlob(ref, configDesc, creds, ingest, listener::bytes));
    byte[] configBytes = content.readAll(configDesc.digest(), config.maxConfigBytes());
    Manifests.Config imageConfig = Manifests.parseConfig(configBytes, "config " + configDesc.digest() + " of " + ref);
    List<Digest> chainIds = checkLayers(ref.toString(), manifest, imageConfig);

    Semaphore downloads = new Semaphore(config.maxConcurrentDownloads());
    Semaphore unpacks = new Semaphore(config.maxConcurrentUnpacks());
    List<Callable<Void>> tasks = new ArrayList<>();
    for (int i = 0; i < manifest.layers().size(); i++) {
      Descriptor layer = manifest.layers().get(i);
      Digest chainId = chainIds.get(i);
      if (snapshotter.hasLayer(chainId) && content.contains(layer.digest())) {
        listener.layer(layer.digest(), PullListener.LayerState.CACHED);
        continue;
      }
      listener.layer(layer.digest(), PullListener.LayerState.WAITING);
      Callable<Void> fetch = new FetchLayerStep(content, registry, ref, layer, creds, downloads, listener);
      Callable<Void> unpack = new UnpackLayerStep(content, snapshotter, ref.toString(), i, layer.digest(),
          layer.mediaType(), chainId, imageConfig.diffIds().get(i), unpacks);
      tasks.add(() -> {
        try {
          fetch.call();
          listener.layer(layer.digest(), PullListener.LayerState.UNPACKING);
          unpack.call();
          listener.layer(layer.digest(), PullListener.LayerState.DONE);
          return null;
        } catch (Exception e) {
          listener.layer(layer.digest(), PullListener.LayerState.FAILED);
          throw e;
        }
      });
    }
    LayerPipeline.runAll(tasks);

    List<String> names = new ArrayList<>();
    ref.tagged().ifPresent(names::add);
    names.add(ref.withDigest(resolved.digest()));
    ImageRecord rec = RecordImageStep.record(metadata, names, target, manifestDigest, manifest, imageConfig, chainIds,
        new String(configBytes, StandardCharsets.UTF_8));
    log.info("pulled {} as image {} ({} layers, {} bytes)", ref, rec.id(), manifest.layers().size(), rec.size());
    return rec;
  }

  /** The chain IDs of a manifest's layers; INVALID_ARGUMENT if the config's diff ids do not pair with the layers. */
  static List<Digest> checkLayers(String image, Manifests.Manifest manifest, Manifests.Config config) {
    if (config.diffIds().size() != manifest.layers().size()) {
      throw BerthException.invalidArgument("%s: manifest has %d layers but config has %d diff ids", image,
          manifest.layers().size(), config.diffIds().size());
    }
    return ChainIds.of(config.diffIds());
  }

  private static String nullToEmpty(String s) {
    return s == null ? "" : s;
  }
}
