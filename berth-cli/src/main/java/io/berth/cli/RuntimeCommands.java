package io.berth.cli;

import com.google.gson.JsonObject;
import io.berth.cri.api.StatusRequest;
import io.berth.cri.api.StatusResponse;
import io.berth.cri.api.VersionRequest;
import io.berth.cri.api.VersionResponse;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Commands about the runtime as a whole. */
final class RuntimeCommands {

    private RuntimeCommands() {
    }

    @Command(name = "version", description = "Show the runtime's name, version and CRI API version.")
    static final class Version implements Runnable {
        @Spec CommandSpec spec;

        @Option(names = {"-o", "--output"}, description = "table or json (default ${DEFAULT-VALUE}).",
                defaultValue = "table")
        Output.Format format;

        @Override
        public void run() {
            try (CriClient client = Berthctl.connect()) {
                VersionResponse v = client.runtime().version(VersionRequest.newBuilder().setVersion("v1").build());
                PrintWriter out = Berthctl.out(spec);
                if (format == Output.Format.json) {
                    out.println(Output.json(v));
                    return;
                }
                out.println("Version:            " + v.getVersion());
                out.println("RuntimeName:        " + v.getRuntimeName());
                out.println("RuntimeVersion:     " + v.getRuntimeVersion());
                out.println("RuntimeApiVersion:  " + v.getRuntimeApiVersion());
            }
        }
    }

    @Command(name = "info", description = "Show runtime status: conditions, runtime handlers and features, info (JSON).")
    static final class Info implements Runnable {
        @Spec CommandSpec spec;

        @Override
        public void run() {
            try (CriClient client = Berthctl.connect()) {
                StatusResponse s = client.runtime().status(StatusRequest.newBuilder().setVerbose(true).build());
                JsonObject o = new JsonObject();
                o.add("status", Output.tree(s.getStatus()));
                o.add("runtimeHandlers", Output.tree(s).getAsJsonObject().get("runtimeHandlers"));
                if (s.hasFeatures()) {
                    o.add("features", Output.tree(s.getFeatures()));
                }
                Output.info(s.getInfoMap()).entrySet().forEach(e -> o.add(e.getKey(), e.getValue()));
                Berthctl.out(spec).println(Output.pretty(o));
            }
        }
    }
}
