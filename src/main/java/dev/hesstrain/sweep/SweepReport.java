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
    /**
     * One member's final figures, from its summary.json; NaN where it has none (not run yet, not
     * finished, no validation set). {@code seconds} is the member's share of its training time: a
     * member of a stacked program of R members gets 1/R of the program's seconds (metrics.csv's
     * {@code seconds} of a stacked member is the whole program's).
     */
    public record Row(int index, String id, String group, Map<String, String> values, long seed, double train,
            double val, double penalty, double hessianMean, double hessianMax, String stopped, double seconds) {
        /** Whether it has final figures (a summary with a training loss). */
        boolean finished() {
            return Double.isFinite(train);
        }
    }

    /** The optional figures of a row, for leaving out the ones no finished member has. */
    private enum Figure {
        VAL, PENALTY, HESSIAN_MEAN, HESSIAN_MAX;

        double of(Row r) {
            return switch (this) {
                case VAL -> r.val();
                case PENALTY -> r.penalty();
                case HESSIAN_MEAN -> r.hessianMean();
                case HESSIAN_MAX -> r.hessianMax();
            };
        }
    }

    private final Path dir;
    private final String loss;
    private final List<String> paths;
    private final List<Row> rows;
    private final boolean validation;

    private SweepReport(Path dir, String loss, List<String> paths, List<Row> rows) {
        this.dir = dir;
        this.loss = loss;
        this.paths = paths;
        this.rows = rows;
        this.validation = has(Figure.VAL);
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
                    seconds = seconds(run.resolve(RunDirectory.METRICS)) / Math.max(1, s.path("stacked_members").asInt(1));
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

    /**
     * Whether any finished member has a validation loss. Without one (data.validation = 0, a normal
     * choice for a λ study on a fixed sample) the ranking, sweep.csv and the plots use the training
     * loss and say so.
     */
    public boolean validation() {
        return validation;
    }

    /** Whether any finished member has the mean input-Hessian norm (else the plots of it say so). */
    public boolean hessian() {
        return has(Figure.HESSIAN_MEAN);
    }

    /** A figure is shown unless members finished and none of them has it. */
    private boolean has(Figure f) {
        return rows.stream().noneMatch(Row::finished) || rows.stream().anyMatch(r -> r.finished() && Double.isFinite(f.of(r)));
    }

    /** The figure members are ranked and plotted by: the validation loss, or the training loss without one. */
    public double score(Row r) {
        return validation() ? r.val() : r.train();
    }

    /** The name of {@link #score}: {@code val_mse}, or {@code train_mse}. */
    public String scoreName() {
        return (validation() ? "val_" : "train_") + loss;
    }

    /** The same in words for the plots: "validation mse", or "training mse (no validation set)". */
    public String scoreLabel() {
        return validation() ? "validation " + loss : "training " + loss + " (no validation set)";
    }

    /**
     * Writes sweep.csv and the plots into the sweep directory. A figure that no finished member has
     * (val_mse without a validation set) is left out rather than written as an empty column.
     */
    public void write() throws IOException {
        List<String> cols = new ArrayList<>(List.of("member"));
        cols.addAll(paths);
        cols.addAll(List.of("group", "train_" + loss));
        Map<Figure, String> optional = new LinkedHashMap<>();
        optional.put(Figure.VAL, "val_" + loss);
        optional.put(Figure.PENALTY, "penalty");
        optional.put(Figure.HESSIAN_MEAN, "hessian_fro_mean");
        optional.put(Figure.HESSIAN_MAX, "hessian_fro_max");
        optional.keySet().removeIf(f -> !has(f));
        cols.addAll(optional.values());
        cols.addAll(List.of("stopped", "seconds", "dir"));
        MetricsCsv csv = new MetricsCsv(cols);
        for (Row r : rows) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("member", r.id());
            for (String p : paths) {
                row.put(p, r.values().get(p));
            }
            row.put("group", r.group());
            row.put("train_" + loss, orNull(r.train()));
            optional.forEach((f, name) -> row.put(name, orNull(f.of(r))));
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

    /**
     * The members ranked by validation loss (by training loss, said in a first line, when no member
     * has a validation set; unfinished ones last, in grid order), as a text table. A figure no
     * finished member has is left out.
     */
    public String table() {
        List<Row> ranked = new ArrayList<>(rows);
        ranked.sort(Comparator.comparing((Row r) -> !r.finished()).thenComparingDouble(r -> r.finished() ? orMax(score(r)) : 0)
                .thenComparingInt(Row::index));
        List<String> head = new ArrayList<>(List.of("rank", "member"));
        for (String p : paths) {
            head.add(SweepPlan.shortName(p));
        }
        if (validation) {
            head.add("val_" + loss);
        }
        head.add("train_" + loss);
        boolean penalty = has(Figure.PENALTY);
        boolean hessian = has(Figure.HESSIAN_MEAN);
        if (penalty) {
            head.add("penalty");
        }
        if (hessian) {
            head.add("|H|_F mean");
        }
        head.addAll(List.of("stopped", "seconds"));
        List<List<String>> cells = new ArrayList<>();
        int rank = 0;
        for (Row r : ranked) {
            List<String> c = new ArrayList<>();
            c.add(r.finished() ? Integer.toString(++rank) : "-");
            c.add(r.id().substring(0, r.id().indexOf('-') < 0 ? r.id().length() : r.id().indexOf('-')));
            for (String p : paths) {
                c.add(r.values().get(p));
            }
            if (validation) {
                c.add(g(r.val()));
            }
            c.add(g(r.train()));
            if (penalty) {
                c.add(g(r.penalty()));
            }
            if (hessian) {
                c.add(g(r.hessianMean()));
            }
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
        if (!validation) {
            sb.append("ranked by train_").append(loss).append(": no member has a validation set").append(System.lineSeparator());
        }
        line(sb, head, w);
        for (List<String> c : cells) {
            line(sb, c, w);
        }
        return sb.toString();
    }

    private static double orMax(double v) {
        return Double.isNaN(v) ? Double.MAX_VALUE : v;
    }

    /**
     * For a sweep over seeds and no other numeric field (nothing to plot the loss against): the
     * spread of the ranking figure over the seeds, one line for each combination of the other axes,
     * such as {@code val_mse over 5 seeds: mean 0.441 sd 0.0012, min 0.440 (seed 3), max 0.443 (seed 0)}.
     * Empty for any other sweep.
     */
    public List<String> seedSpread() {
        if (!paths.contains("seed") || SweepPlots.xAxis(this) != null) {
            return List.of();
        }
        Map<String, List<Row>> byRest = new LinkedHashMap<>();
        for (Row r : rows) {
            if (!r.finished() || !Double.isFinite(score(r))) {
                continue;
            }
            StringBuilder k = new StringBuilder();
            for (String p : paths) {
                if (!p.equals("seed")) {
                    k.append(SweepPlan.shortName(p)).append('=').append(r.values().get(p)).append(' ');
                }
            }
            byRest.computeIfAbsent(k.toString(), x -> new ArrayList<>()).add(r);
        }
        List<String> out = new ArrayList<>();
        byRest.forEach((k, rs) -> {
            double mean = rs.stream().mapToDouble(this::score).average().orElse(Double.NaN);
            double ss = rs.stream().mapToDouble(r -> (score(r) - mean) * (score(r) - mean)).sum();
            Row lo = rs.stream().min(Comparator.comparingDouble(this::score)).orElseThrow();
            Row hi = rs.stream().max(Comparator.comparingDouble(this::score)).orElseThrow();
            out.add(String.format(Locale.ROOT, "%s%s over %d seed%s: mean %s sd %s, min %s (seed %d), max %s (seed %d)", k,
                    scoreName(), rs.size(), rs.size() == 1 ? "" : "s", g(mean),
                    rs.size() > 1 ? g(Math.sqrt(ss / (rs.size() - 1))) : "-", g(score(lo)), lo.seed(), g(score(hi)), hi.seed()));
        });
        return out;
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
