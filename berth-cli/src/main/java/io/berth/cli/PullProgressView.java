package io.berth.cli;

import io.berth.cri.api.ext.LayerProgress;
import io.berth.cri.api.ext.PullProgress;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Draws BerthImages.Pull progress: one line per layer with a bar. On a terminal the lines are redrawn in place; on
 * a pipe a layer's line is printed only when its state changes.
 */
final class PullProgressView {

    static final int BAR = 30;

    private final PrintWriter err;
    private final boolean terminal;
    private int drawn;
    private final Map<String, String> lastState = new HashMap<>();

    PullProgressView(PrintWriter err, boolean terminal) {
        this.err = err;
        this.terminal = terminal;
    }

    void show(PullProgress progress) {
        List<String> lines = lines(progress);
        if (terminal) {
            StringBuilder s = new StringBuilder();
            if (drawn > 0) {
                s.append("\033[").append(drawn).append('A');
            }
            for (String line : lines) {
                s.append("\r\033[2K").append(line).append('\n');
            }
            err.print(s);
            drawn = lines.size();
        } else {
            for (int i = 0; i < progress.getLayersCount(); i++) {
                LayerProgress l = progress.getLayers(i);
                if (!l.getState().equals(lastState.put(l.getDigest(), l.getState()))) {
                    err.println(lines.get(i));
                }
            }
        }
        err.flush();
    }

    /** The lines for one progress message: each layer, then the total. */
    static List<String> lines(PullProgress p) {
        List<String> lines = new ArrayList<>();
        for (LayerProgress l : p.getLayersList()) {
            lines.add(layerLine(l));
        }
        if (p.getTotalBytes() > 0) {
            lines.add(String.format("%-12s  %-11s %s %s/%s", "total", "", bar(p.getDoneBytes(), p.getTotalBytes()),
                    Units.size(p.getDoneBytes()), Units.size(p.getTotalBytes())));
        }
        return lines;
    }

    static String layerLine(LayerProgress l) {
        String digest = Units.shortId(l.getDigest());
        if (digest.length() > 12) {
            digest = digest.substring(0, 12);
        }
        String state = switch (l.getState()) {
            case "cached" -> "exists";
            case "done" -> "complete";
            default -> l.getState();
        };
        String tail = l.getTotal() > 0
                ? bar(l.getDone(), l.getTotal()) + " " + Units.size(l.getDone()) + "/" + Units.size(l.getTotal())
                : "";
        return String.format("%-12s  %-11s %s", digest, state, tail).stripTrailing();
    }

    /** {@code [=========>          ]}: done out of total in {@value #BAR} cells. */
    static String bar(long done, long total) {
        int filled = total <= 0 ? 0 : (int) Math.min(BAR, done * BAR / total);
        StringBuilder b = new StringBuilder("[");
        b.repeat('=', filled == BAR ? BAR : Math.max(0, filled - 1));
        if (filled > 0 && filled < BAR) {
            b.append('>');
        }
        b.repeat(' ', BAR - Math.max(filled, 0));
        return b.append(']').toString();
    }
}
