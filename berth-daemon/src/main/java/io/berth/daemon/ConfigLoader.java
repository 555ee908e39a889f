package io.berth.daemon;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.stream.Collectors;

/** Reads berthd's TOML file, rejecting unknown keys and bad values with a message that names the key. */
public final class ConfigLoader {
  private static final TomlMapper MAPPER = TomlMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .build();

  private ConfigLoader() {}

  public static BerthdConfig load(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new ConfigException("config file " + file + " does not exist");
    } catch (IOException e) {
      throw new ConfigException("cannot read config file " + file + ": " + e.getMessage(), e);
    }
    return parse(text, file.toString());
  }

  public static BerthdConfig parse(String toml, String source) {
    if (toml.isBlank()) {
      return BerthdConfig.defaults();
    }
    try {
      return MAPPER.readValue(toml, BerthdConfig.class);
    } catch (UnrecognizedPropertyException e) {
      throw new ConfigException(source + ": unknown key '" + path(e) + "'");
    } catch (JsonMappingException e) {
      Throwable c = e.getCause();
      if (c instanceof ConfigException ce) {
        throw new ConfigException(source + ": " + ce.getMessage());
      }
      throw new ConfigException(source + ": bad value for '" + path(e) + "': " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new ConfigException(source + ": not valid TOML: " + e.getMessage(), e);
    }
  }

  private static String path(JsonMappingException e) {
    return e.getPath().stream()
        .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
        .collect(Collectors.joining("."));
  }
}
