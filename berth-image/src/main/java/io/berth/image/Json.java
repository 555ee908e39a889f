package io.berth.image;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.berth.core.BerthException;
import io.berth.core.Descriptor;
import io.berth.core.Digest;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Reading the JSON documents of the OCI image spec from bytes the caller has already bounded. */
final class Json {
  private Json() {}

  static final ObjectMapper MAPPER = new ObjectMapper();

  static {
    // Inputs are bounded by size already; also bound nesting so a hostile document cannot blow the stack.
    MAPPER.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build());
  }

  static JsonNode parse(byte[] bytes, String what) {
    try {
      JsonNode n = MAPPER.readTree(bytes);
      if (n == null || !n.isObject()) {
        throw BerthException.invalidArgument("%s is not a JSON object", what);
      }
      return n;
    } catch (IOException e) {
      throw BerthException.invalidArgument("%s is not valid JSON: %s", what, (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
    }
  }

  static JsonNode parseAny(byte[] bytes, String what) {
    try {
      JsonNode n = MAPPER.readTree(bytes);
      if (n == null) {
        throw BerthException.invalidArgument("%s is empty", what);
      }
      return n;
    } catch (IOException e) {
      throw BerthException.invalidArgument("%s is not valid JSON: %s", what, (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
    }
  }

  static byte[] write(Object tree) {
    try {
      return MAPPER.writeValueAsBytes(tree);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static Descriptor descriptor(JsonNode n, String what) {
    if (n == null || !n.isObject()) {
      throw BerthException.invalidArgument("%s: missing descriptor", what);
    }
    String mediaType = n.path("mediaType").asText("");
    JsonNode digest = n.get("digest");
    JsonNode size = n.get("size");
    if (digest == null || !digest.isTextual() || size == null || !size.canConvertToLong()) {
      throw BerthException.invalidArgument("%s: descriptor needs digest and size", what);
    }
    Digest d;
    try {
      d = Digest.parse(digest.asText());
    } catch (BerthException e) {
      throw BerthException.invalidArgument("%s: %s", what, e.getMessage());
    }
    Map<String, String> annotations = new LinkedHashMap<>();
    n.path("annotations").properties().forEach(e -> annotations.put(e.getKey(), e.getValue().asText()));
    return new Descriptor(mediaType, d, size.asLong(), annotations);
  }

  static Optional<String> text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v == null || v.isNull() || !v.isTextual() || v.asText().isEmpty() ? Optional.empty() : Optional.of(v.asText());
  }

  static List<String> strings(JsonNode n) {
    List<String> out = new ArrayList<>();
    if (n != null && n.isArray()) {
      n.forEach(x -> out.add(x.asText()));
    } else if (n != null && n.isTextual()) {
      out.add(n.asText());
    }
    return out;
  }
}
