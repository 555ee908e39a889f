package io.berth.cli;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import java.util.Map;
import java.util.TreeMap;

/** JSON rendering of CRI messages and of the JSON strings runtimes put in verbose info maps. */
final class Output {

    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().alwaysPrintFieldsWithNoPresence();
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    /** Output formats list commands accept with {@code -o}. */
    enum Format { table, json }

    private Output() {
    }

    static JsonElement tree(MessageOrBuilder message) {
        try {
            return JsonParser.parseString(PRINTER.print(message));
        } catch (InvalidProtocolBufferException e) {
            throw new CliException(e, "cannot render %s as JSON", message.getClass().getSimpleName());
        }
    }

    static String json(MessageOrBuilder message) {
        return pretty(tree(message));
    }

    static String pretty(JsonElement element) {
        return GSON.toJson(element);
    }

    /** Verbose info maps hold JSON documents as strings: embed them as JSON, and anything else as a string. */
    static JsonObject info(Map<String, String> info) {
        JsonObject out = new JsonObject();
        new TreeMap<>(info).forEach((k, v) -> out.add(k, parseOrString(v)));
        return out;
    }

    static JsonElement parseOrString(String v) {
        try {
            JsonElement e = JsonParser.parseString(v);
            return e.isJsonNull() ? new JsonPrimitive(v) : e;
        } catch (JsonParseException e) {
            return new JsonPrimitive(v);
        }
    }

    /** {"status": ..., "info": {...}} as crictl inspect prints it. */
    static String statusAndInfo(MessageOrBuilder status, Map<String, String> info) {
        JsonObject o = new JsonObject();
        o.add("status", tree(status));
        o.add("info", info(info));
        return pretty(o);
    }
}
