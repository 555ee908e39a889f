package io.berth.cri;

import java.util.Map;

/** CRI label-selector matching: every selector pair must be present with the same value. */
final class Labels {
  private Labels() {}

  static boolean match(Map<String, String> selector, Map<String, String> labels) {
    for (var e : selector.entrySet()) {
      if (!e.getValue().equals(labels.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }
}
