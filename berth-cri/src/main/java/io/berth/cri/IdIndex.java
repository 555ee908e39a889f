package io.berth.cri;

import io.berth.core.BerthException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * Objects by id, with unique-prefix lookup (what operators type) and name reservation (the CRI refuses a second
 * sandbox or container with the same metadata name while the first exists). Thread-safe.
 */
final class IdIndex<T> {
  private final String kind;
  private final ConcurrentSkipListMap<String, T> byId = new ConcurrentSkipListMap<>();
  private final Map<String, String> names = new ConcurrentHashMap<>();

  IdIndex(String kind) {
    this.kind = kind;
  }

  /** Reserves a name for an id; ALREADY_EXISTS naming the holder if taken by another id. */
  void reserveName(String name, String id) {
    String holder = names.putIfAbsent(name, id);
    if (holder != null && !holder.equals(id)) {
      throw BerthException.alreadyExists("%s name %s is reserved for %s %s", kind, name, kind, holder);
    }
  }

  void releaseName(String name, String id) {
    names.remove(name, id);
  }

  void put(String id, T value) {
    byId.put(id, value);
  }

  void remove(String id) {
    byId.remove(id);
  }

  /** By full id or unique prefix. */
  Optional<T> find(String idOrPrefix) {
    if (idOrPrefix == null || idOrPrefix.isEmpty()) {
      return Optional.empty();
    }
    T exact = byId.get(idOrPrefix);
    if (exact != null) {
      return Optional.of(exact);
    }
    var tail = byId.tailMap(idOrPrefix, true);
    T found = null;
    for (var e : tail.entrySet()) {
      if (!e.getKey().startsWith(idOrPrefix)) {
        break;
      }
      if (found != null) {
        throw BerthException.invalidArgument("%s id prefix %s is ambiguous", kind, idOrPrefix);
      }
      found = e.getValue();
    }
    return Optional.ofNullable(found);
  }

  /** By full id or unique prefix; NOT_FOUND otherwise. */
  T get(String idOrPrefix) {
    if (idOrPrefix == null || idOrPrefix.isEmpty()) {
      throw BerthException.invalidArgument("%s id is empty", kind);
    }
    return find(idOrPrefix).orElseThrow(() -> BerthException.notFound("%s %s not found", kind, idOrPrefix));
  }

  Collection<T> all() {
    return List.copyOf(byId.values());
  }
}
