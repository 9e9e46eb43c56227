package dev.hesstrain.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hesstrain.runs.Json;
import dev.hesstrain.runs.MetricsCsv;
import dev.hesstrain.runs.RunDirectory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The sweep's report, rebuilt from whatever member directories have finished (so it merges shards):
 * {@code sweep.csv}, the plots and the ranked table. It reads only {@code sweep.json} and each
 * member's {@code summary.json} and {@code metrics.csv}.
 */
public final class SweepReport {
    /** One member's final figures; NaN where it has none (not run yet, or not finished). */
    public record Row(int index, String id, String group, Map<String, String> values, long seed, double train,
            double val, double penalty, double hessianMean, double hessianMax, String stopped, double seconds) {
        boolean finished() {
            return Double.isFinite(val);
        }
    }

    private final Path dir;
    private final String loss;
    private final List<String> paths;
    private final List<Row> rows;

    private SweepReport(Path dir, String loss, List<String> paths, List<Row> rows) {
        this.dir = dir;
        this.loss = loss;
        this.paths = paths;
        this.rows = rows;
    }

    /** Reads the sweep at {@code dir}. */
    public static SweepReport read(Path dir) throws IOException {
        JsonNode plan = SweepDirectory.readPlan(dir);
        String loss = plan.path("loss").asText("mse");
        List<String> paths = new ArrayList<>();
        plan.path("grid").forEach(a -> paths.add(a.path("path").asText()));
        List<Row> rows = new ArrayList<>();
        for (JsonNode m : plan.path("members")) {
            Map<String, String> values = new LinkedHashMap<>();
            m.path("values").fields().forEachRemaining(e -> values.put(e.getKey(), e.getValue().asText()));
            Path run = dir.resolve(m.path("dir").asText());
            double train = Double.NaN;
            double val = Double.NaN;
            double pen = Double.NaN;
            double hm = Double.NaN;
            double hx = Double.NaN;
            // a directory without a spec was created for a member that never started
            String stopped = Files.isRegularFile(run.resolve(RunDirectory.SPEC)) ? "unfinished" : "pending";
            double seconds = Double.NaN;
            Path summary = run.resolve(RunDirectory.SUMMARY);
            if (Files.isRegularFile(summary)) {
                try {
                    JsonNode s = Json.readTree(summary);
                    train = num(s.path("train_" + loss));
                    val = num(s.path("val_" + loss));
                    pen = num(s.path("penalty"));
                    hm = num(s.path("hessian_fro_mean"));
                    hx = num(s.path("hessian_fro_max"));
                    stopped = s.path("stopped").asText(stopped);
                    seconds = seconds(run.resolve(RunDirectory.METRICS));
                } catch (IOException | RuntimeException e) {
                    stopped = "unreadable";
                }
            }
            rows.add(new Row(m.path("index").asInt(), m.path("id").asText(), m.path("group").asText(), values,
                    m.path("seed").asLong(), train, val, pen, hm, hx, stopped, seconds));
        }
        return new SweepReport(dir, loss, paths, rows);
    }

    private static double num(JsonNode n) {
        return n.isNumber() ? n.asDouble() : Double.NaN;
    }

    /** The training seconds of a run: the sum of metrics.csv's seconds column. */
    private static double seconds(Path metrics) throws IOException {
        if (!Files.isRegularFile(metrics)) {
            return Double.NaN;
        }
        List<String> lines = Files.readAllLines(metrics, StandardCharsets.UTF_8);
        if (lines.isEmpty()) {
            return Double.NaN;
        }
        String[] header = lines.get(0).split(",", -1);
        int col = List.of(header).indexOf("seconds");
        if (col < 0) {
            return Double.NaN;
        }
        double sum = 0;
        for (String l : lines.subList(1, lines.size())) {
            String[] f = l.split(",", -1);
            if (f.length > col && !f[col].isEmpty()) {
                sum += Double.parseDouble(f[col]);
            }
        }
        return sum;
    }

    public List<Row> rows() {
        return rows;
    }

    public List<String> paths() {
        return paths;
    }

    public String loss() {
        return loss;
    }

    /** Writes sweep.csv and the plots into the sweep directory. */
    public void write() throws IOException {
        List<String> cols = new ArrayList<>(List.of("member"));
        cols.addAll(paths);
        cols.addAll(List.of("group", "train_" + loss, "val_" + loss, "penalty", "hessian_fro_mean", "hessian_fro_max",
                "stopped", "seconds", "dir"));
        MetricsCsv csv = new MetricsCsv(cols);
        for (Row r : rows) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("member", r.id());
            for (String p : paths) {
                row.put(p, r.values().get(p));
            }
            row.put("group", r.group());
            row.put("train_" + loss, orNull(r.train()));
            row.put("val_" + loss, orNull(r.val()));
            row.put("penalty", orNull(r.penalty()));
            row.put("hessian_fro_mean", orNull(r.hessianMean()));
            row.put("hessian_fro_max", orNull(r.hessianMax()));
            row.put("stopped", r.stopped());
            row.put("seconds", orNull(r.seconds()));
            row.put("dir", SweepDirectory.MEMBERS + "/" + r.id());
            csv.add(row);
        }
        csv.save(dir.resolve(SweepDirectory.CSV));
        SweepPlots.write(dir, this);
    }

    private static Double orNull(double v) {
        return Double.isFinite(v) ? v : null;
    }

    /** The members ranked by validation loss (unfinished ones last, in grid order), as a text table. */
    public String table() {
        List<Row> ranked = new ArrayList<>(rows);
        ranked.sort(Comparator.comparing((Row r) -> !r.finished()).thenComparingDouble(r -> r.finished() ? r.val() : 0)
                .thenComparingInt(Row::index));
        List<String> head = new ArrayList<>(List.of("rank", "member"));
        for (String p : paths) {
            head.add(SweepPlan.shortName(p));
        }
        head.addAll(List.of("val_" + loss, "train_" + loss, "penalty", "|H|_F mean", "stopped", "seconds"));
        List<List<String>> cells = new ArrayList<>();
        int rank = 0;
        for (Row r : ranked) {
            List<String> c = new ArrayList<>();
            c.add(r.finished() ? Integer.toString(++rank) : "-");
            c.add(r.id().substring(0, r.id().indexOf('-') < 0 ? r.id().length() : r.id().indexOf('-')));
            for (String p : paths) {
                c.add(r.values().get(p));
            }
            c.add(g(r.val()));
            c.add(g(r.train()));
            c.add(g(r.penalty()));
            c.add(g(r.hessianMean()));
            c.add(r.stopped());
            c.add(Double.isFinite(r.seconds()) ? String.format(Locale.ROOT, "%.1f", r.seconds()) : "");
            cells.add(c);
        }
        int[] w = new int[head.size()];
        for (int i = 0; i < w.length; i++) {
            w[i] = head.get(i).length();
            for (List<String> c : cells) {
                w[i] = Math.max(w[i], c.get(i).length());
            }
        }
        StringBuilder sb = new StringBuilder();
        line(sb, head, w);
        for (List<String> c : cells) {
            line(sb, c, w);
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, List<String> cells, int[] w) {
        for (int i = 0; i < cells.size(); i++) {
            String f = "%-" + w[i] + "s";
            sb.append(String.format(Locale.ROOT, f, cells.get(i)));
            if (i < cells.size() - 1) {
                sb.append("  ");
            }
        }
        while (sb.length() > 0 && sb.charAt(sb.length() - 1) == ' ') {
            sb.setLength(sb.length() - 1);
        }
        sb.append(System.lineSeparator());
    }

    private static String g(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v) : "";
    }

    /** Counts of members by how they stopped. */
    public Map<String, Integer> counts() {
        Map<String, Integer> c = new LinkedHashMap<>();
        for (Row r : rows) {
            c.merge(r.stopped(), 1, Integer::sum);
        }
        return c;
    }
}
