package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.hesstrain.model.Torch;
import dev.hesstrain.runs.Json;
import dev.hesstrain.runs.RunSummary;
import dev.hesstrain.spec.SpecLoader;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** hesstrain sweep end to end through the real command line, on the shipped config made small. */
class SweepCommandTest {
    static final String CONFIG = "configs/sin2pi.yaml";
    /** Small and fast: 60 samples, 4 epochs, a checkpoint every epoch. */
    static final List<String> SMALL = List.of("--set", "data.samples=60", "--set", "train.epochs=4",
            "--set", "train.batch_size=24", "--set", "train.checkpoint_every=1");

    static String[] args(Path out, List<String> extra, String... grid) {
        List<String> a = new ArrayList<>(List.of("sweep", "--config", CONFIG, "--out", out.toString()));
        a.addAll(SMALL);
        a.addAll(extra);
        for (String g : grid) {
            a.add("--grid");
            a.add(g);
        }
        return a.toArray(String[]::new);
    }

    static List<String[]> csv(Path file) throws IOException {
        List<String[]> rows = new ArrayList<>();
        for (String l : Files.readAllLines(file)) {
            rows.add(l.split(",", -1));
        }
        return rows;
    }

    /** metrics.csv without its seconds column. */
    static List<String> metricsWithoutSeconds(Path run) throws IOException {
        List<String> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(run.resolve("metrics.csv"));
        int col = List.of(lines.get(0).split(",")).indexOf("seconds");
        for (String l : lines) {
            List<String> f = new ArrayList<>(List.of(l.split(",", -1)));
            f.remove(col);
            out.add(String.join(",", f));
        }
        return out;
    }

    /** Where a run's train.log says its samples come from ("... samples from SOURCE, P parameters ..."). */
    private static String samplesFrom(Path run) throws IOException {
        List<String> l = logLines(run, " validation samples from ");
        assertEquals(1, l.size(), run + ": " + l);
        return l.get(0).replaceAll(".* validation samples from (.*), \\d+ parameters.*", "$1");
    }

    /** The lines of a run's train.log that contain {@code what}, without their time stamps. */
    static List<String> logLines(Path run, String what) throws IOException {
        return Files.readAllLines(run.resolve("train.log")).stream().filter(l -> l.contains(what))
                .map(l -> l.substring("yyyy-MM-dd HH:mm:ss.SSS ".length())).toList();
    }

    /** Log lines word by word: the same words, numbers equal to TOL relative. */
    static void assertSameLogLines(List<String> expected, List<String> actual, String what) {
        assertEquals(expected.size(), actual.size(), what + ": " + actual);
        for (int i = 0; i < expected.size(); i++) {
            String[] e = expected.get(i).split(" +");
            String[] a = actual.get(i).split(" +");
            assertEquals(e.length, a.length, what + ": " + expected.get(i) + " vs " + actual.get(i));
            for (int j = 0; j < e.length; j++) {
                if (e[j].matches("-?[0-9.]+(E-?[0-9]+)?") && !e[j].endsWith(":")) {
                    double x = Double.parseDouble(e[j]);
                    assertEquals(x, Double.parseDouble(a[j]), TOL * Math.abs(x) + 1e-12, what + ": " + actual.get(i));
                } else {
                    assertEquals(e[j], a[j], what + ": " + expected.get(i) + " vs " + actual.get(i));
                }
            }
        }
    }

    /** float32 members trained stacked agree with their plain runs to this relative tolerance. */
    static final double TOL = 1e-4;

    /** Two metrics.csv (seconds removed): the same header and cells, numbers equal to TOL relative. */
    static void assertClose(List<String> expected, List<String> actual, String what) {
        assertEquals(expected.size(), actual.size(), what + ": rows");
        assertEquals(expected.get(0), actual.get(0), what + ": header");
        for (int i = 1; i < expected.size(); i++) {
            String[] e = expected.get(i).split(",", -1);
            String[] a = actual.get(i).split(",", -1);
            assertEquals(e.length, a.length, what + " row " + i);
            for (int j = 0; j < e.length; j++) {
                if (e[j].isEmpty() || a[j].isEmpty()) {
                    assertEquals(e[j], a[j], what + " row " + i + " column " + j);
                    continue;
                }
                double x = Double.parseDouble(e[j]);
                double y = Double.parseDouble(a[j]);
                assertEquals(x, y, TOL * Math.abs(x) + 1e-12, what + " row " + i + " column " + expected.get(0).split(",")[j]
                        + ": " + expected.get(i) + " vs " + actual.get(i));
            }
        }
    }

    /**
     * Each member's run directory equals a plain {@code hesstrain train} of its resolved spec: the
     * same metrics row by row (seconds aside) and the same final figures, for members that differ
     * from the first in λ, in lr and in seed.
     */
    void membersEqualPlainRuns(Path tmp, List<String> extra, String... grid) throws IOException {
        Path out = tmp.resolve("sweep");
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run(args(out, extra, grid)), cli.err());
        JsonNode plan = Json.readTree(out.resolve("sweep.json"));
        assertEquals(8, plan.get("members").size());
        assertEquals(1, plan.get("groups").asInt(), "λ, lr and seed members share one structure");
        // member 0 is (λ0, lr0, seed0); 4 differs in λ, 2 in lr, 1 in seed
        for (int i : new int[] {0, 1, 2, 4}) {
            JsonNode m = plan.get("members").get(i);
            Path member = out.resolve(m.get("dir").asText());
            Path plain = tmp.resolve("plain-" + i);
            CliRunner train = new CliRunner();
            assertEquals(0, train.run("train", "--config", member.resolve("spec.yaml").toString(), "--out",
                    plain.toString()), train.err());
            assertClose(metricsWithoutSeconds(plain), metricsWithoutSeconds(member), "member " + m.get("id"));
            JsonNode a = Json.readTree(member.resolve("summary.json"));
            JsonNode b = Json.readTree(plain.resolve("summary.json"));
            assertEquals(8, a.get("stacked_members").asInt(), "trained as one stacked program of 8");
            // the same summary record as a plain run's, with the stacked step beside it
            java.util.Set<String> keys = new java.util.TreeSet<>();
            b.fieldNames().forEachRemaining(keys::add);
            keys.addAll(List.of("stacked_members", "stacked_ms_per_step"));
            java.util.Set<String> mine = new java.util.TreeSet<>();
            a.fieldNames().forEachRemaining(mine::add);
            assertEquals(keys, mine);
            RunSummary typed = RunSummary.read(member.resolve("summary.json"));
            assertEquals(typed.stackedMsPerStep() / 8, typed.msPerStep(), 1e-12);
            assertEquals("completed", typed.stopped());
            assertEquals(b.get("stop_reason").asText(), typed.stopReason());
            assertEquals(4, typed.epochsRun());
            // train.log has the plain run's epoch lines, with the same figures: the first epoch's and the
            // evaluated ones' (of 4 full-batch epochs, eval_every 10: the last)
            assertSameLogLines(logLines(plain, "TrainJob - epoch "), logLines(member, "TrainJob - epoch "),
                    "member " + m.get("id") + " train.log");
            // and names its data as the plain run's does
            assertEquals(samplesFrom(plain), samplesFrom(member), "member " + m.get("id") + " train.log");
            assertEquals(List.of("1", "4"), logLines(member, "TrainJob - epoch ").stream()
                    .map(l -> l.replaceAll(".*TrainJob - epoch (\\d+):.*", "$1")).toList());
            assertEquals(List.of("INFO  TrainJob - run stopped: completed (all epochs ran)"),
                    logLines(member, "TrainJob - run stopped"));
            for (String k : List.of("train_mse", "val_mse", "penalty", "hessian_fro_mean", "hessian_fro_max")) {
                assertEquals(b.get(k).asDouble(), a.get(k).asDouble(), TOL * Math.abs(b.get(k).asDouble()), k);
            }
            assertEquals(b.get("provenance").get("data_sha256"), a.get("provenance").get("data_sha256"));
        }
        // the members really differ where their grid values do
        List<String[]> rows = csv(out.resolve("sweep.csv"));
        assertEquals(List.of("member", "penalty.lambda", "train.lr", "seed", "group", "train_mse", "val_mse", "penalty",
                "hessian_fro_mean", "hessian_fro_max", "stopped", "seconds", "dir"), List.of(rows.get(0)));
        assertEquals(9, rows.size());
        java.util.Set<String> vals = new java.util.HashSet<>();
        for (String[] r : rows.subList(1, rows.size())) {
            assertEquals("completed", r[10]);
            vals.add(r[6]);
        }
        assertEquals(8, vals.size(), "8 distinct validation losses");
    }

    @Test
    void exactMembersEqualPlainTrainRuns(@TempDir Path tmp) throws IOException {
        membersEqualPlainRuns(tmp, List.of(), "penalty.lambda=1e-3,1e-1", "train.lr=0.01,0.03", "seed=0..1");
    }

    @Test
    void hutchinsonMembersEqualPlainTrainRuns(@TempDir Path tmp) throws IOException {
        membersEqualPlainRuns(tmp, List.of("--set", "penalty.method=hutchinson", "--set", "penalty.exact_every=2"),
                "penalty.lambda=1e-3,1e-1", "train.lr=0.01,0.03", "seed=0..1");
    }

    /**
     * A classification sweep (digits.yaml: cross-entropy, 10 classes, the Hutchinson penalty) trains
     * as one stacked program, and each member's metrics.csv, accuracies included, equals its plain run's.
     */
    @Test
    void crossEntropyMembersStackAndEqualPlainRuns(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("sweep");
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run("sweep", "--config", "configs/digits.yaml", "--out", out.toString(), "--set",
                "data.samples=200", "--set", "train.epochs=3", "--set", "penalty.exact_every=2", "--grid",
                "penalty.lambda=0,1e-2", "--grid", "seed=0..1"), cli.err());
        JsonNode plan = Json.readTree(out.resolve("sweep.json"));
        for (int i : new int[] {0, 3}) {
            Path member = out.resolve(plan.get("members").get(i).get("dir").asText());
            assertEquals(4, Json.readTree(member.resolve("summary.json")).get("stacked_members").asInt());
            Path plain = tmp.resolve("plain-" + i);
            CliRunner train = new CliRunner();
            assertEquals(0, train.run("train", "--config", member.resolve("spec.yaml").toString(), "--out",
                    plain.toString()), train.err());
            List<String> expected = metricsWithoutSeconds(plain);
            assertTrue(expected.get(0).contains("train_accuracy,val_accuracy"), expected.get(0));
            assertClose(expected, metricsWithoutSeconds(member), "member " + i);
        }
    }

    @Test
    void writesTheReportAndResumesSkippingCompletedMembers(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("sweep");
        String[] a = args(out, List.of(), "penalty.lambda=0,logspace(1e-3,1e-1,2)", "seed=0..1");
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run(a), cli.err());
        // the table: a header and 6 ranked rows, ranked by validation loss
        List<String> table = cli.out().lines().filter(l -> l.matches("^(rank|\\d+ ).*")).toList();
        assertEquals(7, table.size(), cli.out());
        double last = -1;
        for (String l : table.subList(1, table.size())) {
            double v = Double.parseDouble(l.trim().split("\\s+")[4]);
            assertTrue(v >= last, cli.out());
            last = v;
        }
        assertTrue(cli.out().contains("6 members: 6 completed"), cli.out());
        for (String png : List.of("val_loss_vs_lambda.png", "hessian_vs_lambda.png", "tradeoff.png")) {
            BufferedImage img = ImageIO.read(out.resolve(png).toFile());
            assertEquals(800, img.getWidth(), png);
            assertEquals(500, img.getHeight(), png);
        }
        JsonNode plan = Json.readTree(out.resolve("sweep.json"));
        assertEquals("0", plan.get("grid").get(0).get("values").get(0).asText());
        assertEquals("0.001", plan.get("grid").get(0).get("values").get(1).asText());
        assertEquals("0.1", plan.get("grid").get(0).get("values").get(2).asText());
        assertTrue(plan.get("provenance").has("java"));
        // every member is a standard run: its spec loads back and has the member's values
        for (JsonNode m : plan.get("members")) {
            Path dir = out.resolve(m.get("dir").asText());
            var spec = SpecLoader.load(dir.resolve("spec.yaml"));
            assertEquals(m.get("values").get("seed").asLong(), spec.seed());
            assertEquals(Double.parseDouble(m.get("values").get("penalty.lambda").asText()), spec.penalty().lambda());
            assertEquals(null, spec.sweep());
            assertTrue(Files.isRegularFile(dir.resolve("model.safetensors")));
        }
        // inspect-hessian works on a member
        Path first = out.resolve(plan.get("members").get(0).get("dir").asText());
        CliRunner inspect = new CliRunner();
        assertEquals(0, inspect.run("inspect-hessian", "--run", first.toString(), "--wrt", "input", "--quantity", "trace",
                "--samples", "3", "--out", tmp.resolve("inspect").toString()), inspect.err());

        // again: everything is skipped, nothing is rewritten
        Path summary = first.resolve("summary.json");
        FileTime before = Files.getLastModifiedTime(summary);
        CliRunner again = new CliRunner();
        assertEquals(0, again.run(a), again.err());
        assertTrue(again.err().contains("0 to train, 6 completed before"), again.err());
        assertEquals(before, Files.getLastModifiedTime(summary));
        // an unfinished member is rerun, alone
        Path third = out.resolve(plan.get("members").get(2).get("dir").asText());
        List<String> metrics = metricsWithoutSeconds(third);
        Files.delete(third.resolve("summary.json"));
        CliRunner resume = new CliRunner();
        assertEquals(0, resume.run(a), resume.err());
        assertTrue(resume.err().contains("1 to train, 5 completed before"), resume.err());
        assertClose(metrics, metricsWithoutSeconds(third), "the rerun reproduces the member");
        assertEquals(before, Files.getLastModifiedTime(summary));

        // a changed grid or spec is refused
        CliRunner changed = new CliRunner();
        assertEquals(ExitCodes.USAGE, changed.run(args(out, List.of(), "penalty.lambda=0,1e-2", "seed=0..1")));
        assertEquals("error: " + out + " holds another sweep: its grid was penalty.lambda=0,0.001,0.1 seed=0,1, this one is "
                + "penalty.lambda=0,1e-2 seed=0,1; resume only with the same spec, --set and --grid, or give a new --out",
                changed.err().strip());
        CliRunner set = new CliRunner();
        assertEquals(ExitCodes.USAGE, set.run(args(out, List.of("--set", "train.lr=0.5"),
                "penalty.lambda=0,logspace(1e-3,1e-1,2)", "seed=0..1")));
        assertTrue(set.err().contains("the members' resolved specs differ"), set.err());
    }

    @Test
    void aDivergingMemberStopsAloneAndKeepsItsCheckpoint(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("sweep");
        CliRunner cli = new CliRunner();
        int code = cli.run(args(out, List.of("--set", "train.optimizer=sgd", "--set", "train.epochs=30"),
                "train.lr=0.01,1e30,0.02"));
        assertEquals(ExitCodes.FAILED, code, cli.err());
        List<String[]> rows = csv(out.resolve("sweep.csv"));
        assertEquals("completed", rows.get(1)[8]);
        assertEquals("diverged", rows.get(2)[8]);
        assertEquals("completed", rows.get(3)[8], "the member after the diverged one still trains");
        JsonNode s = Json.readTree(out.resolve("members").resolve(rows.get(2)[0]).resolve("summary.json"));
        assertEquals("diverged", s.get("stopped").asText());
        try (NDManager m = NDManager.newBaseManager();
                InputStream is = Files.newInputStream(out.resolve("members").resolve(rows.get(2)[0]).resolve("model.safetensors"))) {
            for (NDArray a : NDList.decode(m, is)) {
                assertFalse(a.isNaN().any().getBoolean() || a.isInfinite().any().getBoolean(), a.getName());
            }
        }
        assertTrue(cli.err().contains("member 001-lr=1e30 diverged"), cli.err());
    }

    /**
     * Issue 21, defect 3: a member extended by {@code train --resume members/X --set
     * train.epochs=N} was trained afresh with the sweep's epochs when the sweep ran again ("1 to
     * train"), its extension thrown away without a word. It is kept, with a warning; a member
     * directory holding a run of another spec is refused instead of deleted.
     */
    @Test
    void aMemberExtendedByTrainResumeIsKeptWithAWarning(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("sweep");
        String[] a = args(out, List.of(), "penalty.lambda=0,1e-2");
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run(a), cli.err());
        Path member = out.resolve("members/001-lambda=1e-2");
        CliRunner extend = new CliRunner();
        assertEquals(0, extend.run("train", "--resume", member.toString(), "--set", "train.epochs=6"), extend.err());
        assertEquals(7, Files.readAllLines(member.resolve("metrics.csv")).size());
        FileTime before = Files.getLastModifiedTime(member.resolve("summary.json"));
        List<String> metrics = Files.readAllLines(member.resolve("metrics.csv"));

        CliRunner again = new CliRunner();
        assertEquals(0, again.run(a), again.err());
        assertTrue(again.err().contains("0 to train, 1 completed before, 1 extended by train --resume (kept as they are)"),
                again.err());
        assertTrue(again.err().contains("warning: member 001-lambda=1e-2 was extended to 6 epochs (train --resume), where the "
                + "sweep has 4; it is kept as it is and reported with its 6 epochs"), again.err());
        assertEquals(before, Files.getLastModifiedTime(member.resolve("summary.json")));
        assertEquals(metrics, Files.readAllLines(member.resolve("metrics.csv")));
        assertTrue(again.out().contains("2 members: 2 completed"), again.out());

        // a member directory that holds a run of another spec: refused, nothing deleted
        Path other = out.resolve("members/000-lambda=0");
        Files.writeString(other.resolve("spec.yaml"), Files.readString(other.resolve("spec.yaml")).replace("lr: 0.01", "lr: 0.02"));
        CliRunner refused = new CliRunner();
        assertEquals(ExitCodes.USAGE, refused.run(a), refused.err());
        assertTrue(refused.err().contains("error: member 000-lambda=0: " + other + " holds a run of another spec than this "
                + "sweep's member (train.lr differs); move it away"), refused.err());
        assertTrue(Files.isRegularFile(other.resolve("model.safetensors")));
    }

    /**
     * Issue 18, item 4: a sweep without a validation set (data.validation=0, a normal choice for a
     * λ study on a fixed sample) ranked nothing, plotted empty axes titled "no finished members yet"
     * and printed {@code val NaN}. It ranks, writes and plots the training loss, and says so.
     */
    @Test
    void withoutAValidationSetTheReportUsesTheTrainingLossAndSaysSo(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("sweep");
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run(args(out, List.of("--set", "data.validation=0"), "penalty.lambda=0,1e-2,1")), cli.err());
        assertTrue(cli.out().contains("ranked by train_mse: no member has a validation set"), cli.out());
        List<String> table = cli.out().lines().filter(l -> l.matches("^(rank |\\d+ ).*")).toList();
        assertEquals(List.of("rank", "member", "lambda", "train_mse", "penalty", "|H|_F", "mean", "stopped", "seconds"),
                List.of(table.get(0).split("\\s+")));
        assertEquals(4, table.size(), cli.out());
        double last = -1;
        for (String l : table.subList(1, 4)) {
            double v = Double.parseDouble(l.trim().split("\\s+")[3]);
            assertTrue(v >= last, cli.out());
            last = v;
        }
        List<String[]> rows = csv(out.resolve("sweep.csv"));
        assertEquals(List.of("member", "penalty.lambda", "group", "train_mse", "penalty", "hessian_fro_mean", "hessian_fro_max",
                "stopped", "seconds", "dir"), List.of(rows.get(0)));
        var report = dev.hesstrain.sweep.SweepReport.read(out);
        assertFalse(report.validation());
        assertEquals("training mse (no validation set)", report.scoreLabel());
        assertEquals(report.rows().get(0).train(), report.score(report.rows().get(0)));
        assertFalse(cli.err().contains("val"), "no val in the progress lines: " + cli.err());
        assertTrue(cli.err().contains("  loss "), cli.err());
    }

    /**
     * Issue 21, defect 5: a sweep over seeds alone plotted the validation loss against the seed on
     * a log axis; it now has no such plot and prints the spread over the seeds. sweep.csv's seconds
     * repeated the stacked program's time for every member; each member now gets its share.
     */
    @Test
    void aSeedOnlySweepReportsTheSpreadOverSeedsAndEachMemberItsShareOfTheTime(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("sweep");
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run(args(out, List.of(), "seed=0..2")), cli.err());
        assertFalse(Files.exists(out.resolve("val_loss_vs_lambda.png")));
        assertFalse(Files.exists(out.resolve("hessian_vs_lambda.png")));
        assertTrue(Files.exists(out.resolve("tradeoff.png")));
        List<String[]> rows = csv(out.resolve("sweep.csv"));
        int val = List.of(rows.get(0)).indexOf("val_mse");
        int sec = List.of(rows.get(0)).indexOf("seconds");
        double[] v = rows.subList(1, 4).stream().mapToDouble(r -> Double.parseDouble(r[val])).toArray();
        double mean = (v[0] + v[1] + v[2]) / 3;
        String spread = cli.out().lines().filter(l -> l.startsWith("val_mse over 3 seeds: mean ")).findFirst().orElseThrow(
                () -> new AssertionError(cli.out()));
        assertEquals(mean, Double.parseDouble(spread.split("\\s+")[5]), 1e-5 * Math.abs(mean), spread);
        // the stacked program's seconds (every member's metrics.csv has them) shared out: a third each
        double program = 0;
        List<String> m = Files.readAllLines(out.resolve("members").resolve(rows.get(1)[0]).resolve("metrics.csv"));
        int col = List.of(m.get(0).split(",")).indexOf("seconds");
        for (String l : m.subList(1, m.size())) {
            program += Double.parseDouble(l.split(",")[col]);
        }
        for (String[] r : rows.subList(1, 4)) {
            assertEquals(program / 3, Double.parseDouble(r[sec]), 1e-9 * program, String.join(",", r));
        }
    }

    /** Issue 21, defect 5: "0/6 members done" at 100 %, and "val NaN" without a validation loss. */
    @Test
    void progressLinesCountMembersDoneAtTheirLastEpochAndLeaveOutAMissingVal() {
        java.io.StringWriter text = new java.io.StringWriter();
        var members = dev.hesstrain.sweep.SweepPlan.resolve(Path.of(CONFIG), List.of("train.epochs=3"),
                List.of("seed=0,1")).members();
        try (SweepCommand.Bar bar = new SweepCommand.Bar(new java.io.PrintWriter(text), false, 6, 2)) {
            members.forEach(bar::memberStarted);
            for (int e = 1; e <= 3; e++) { // a stacked program: every member's epoch e, then e + 1
                for (var m : members) {
                    bar.epoch(m, new dev.hesstrain.train.EpochMetrics(e, 0.5, m.index() == 0 ? 0.25 : Double.NaN, 0, 0, 0.5,
                            0, 0, Double.NaN, Double.NaN, 0.01, Double.NaN, false));
                }
            }
        }
        List<String> lines = text.toString().lines().toList();
        assertEquals("sweep 6/6 member-epochs (100%)  2/2 members done  001-seed=1 epoch 3  loss 0.500000",
                lines.get(lines.size() - 1));
        assertTrue(lines.contains("sweep 5/6 member-epochs (83%)  1/2 members done  000-seed=0 epoch 3  loss 0.500000  val 0.250000"),
                String.join("\n", lines));
    }

    @Test
    void shardsSplitTheMembersAndTheReportMergesThem(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("sweep");
        String[] grid = {"penalty.lambda=0,1e-2", "seed=0..1"};
        List<String> shard0 = new ArrayList<>(List.of(args(out, List.of("--shard", "0/2"), grid)));
        CliRunner a = new CliRunner();
        assertEquals(0, a.run(shard0.toArray(String[]::new)), a.err());
        assertTrue(a.out().contains("4 members: 2 completed, 2 pending"), a.out());
        CliRunner b = new CliRunner();
        assertEquals(0, b.run(args(out, List.of("--shard", "1/2"), grid)), b.err());
        assertTrue(b.out().contains("4 members: 4 completed"), b.out());
        Files.delete(out.resolve("sweep.csv"));
        CliRunner r = new CliRunner();
        assertEquals(0, r.run("sweep", "--report", out.toString()), r.err());
        assertTrue(r.out().contains("4 members: 4 completed"), r.out());
        assertEquals(5, Files.readAllLines(out.resolve("sweep.csv")).size());
        // --shard needs --out; a bad shard is a usage error
        CliRunner bad = new CliRunner();
        assertEquals(ExitCodes.USAGE, bad.run("sweep", "--config", CONFIG, "--grid", "seed=0,1", "--shard", "2/2",
                "--out", tmp.resolve("x").toString()));
        assertEquals("error: --shard takes I/N with 0 <= I < N, such as 0/4, found '2/2'", bad.err().strip());
    }

    /** The default threads: the cores that other work leaves idle, at least 1. */
    @Test
    void theDefaultThreadsAreTheIdleCores() {
        assertEquals(2, SweepCommand.idleCores(2, 0));
        assertEquals(1, SweepCommand.idleCores(2, 1));
        assertEquals(1, SweepCommand.idleCores(2, 5));
        assertEquals(14, SweepCommand.idleCores(16, 2));
        assertEquals(16, SweepCommand.idleCores(16, -1)); // no /proc/loadavg on this system
    }

    /** A process that keeps a core busy is seen as one. */
    @Test
    void aBusyLoopElsewhereKeepsACoreBusy() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isReadable(Path.of("/proc/loadavg")));
        int before = SweepCommand.busyCores();
        Process loop = new ProcessBuilder("sh", "-c", "while :; do :; done").start();
        try {
            Thread.sleep(200);
            int during = SweepCommand.busyCores();
            assertTrue(during >= 1, "busy cores with a busy loop running: " + during + " (before: " + before + ")");
        } finally {
            loop.destroyForcibly().waitFor();
        }
    }

    /**
     * A stacked program computes on the idle cores unless --threads says otherwise (train's default
     * is 1), and the sweep's first line says how many.
     */
    @Test
    void aSweepComputesOnTheIdleCoresUnlessToldOtherwise(@TempDir Path tmp) {
        int before = Torch.threads();
        try {
            CliRunner cli = new CliRunner();
            Torch.setThreads(1);
            assertEquals(0, cli.run(args(tmp.resolve("a"), List.of(), "penalty.lambda=0,1e-3")), cli.err());
            java.util.regex.Matcher said = java.util.regex.Pattern.compile("completed before; (\\d+) threads?").matcher(cli.err());
            assertTrue(said.find(), cli.err());
            int threads = Integer.parseInt(said.group(1));
            assertTrue(threads >= 1 && threads <= Runtime.getRuntime().availableProcessors(), cli.err());
            assertEquals(threads, Torch.threads());
            CliRunner one = new CliRunner();
            assertEquals(0, one.run(args(tmp.resolve("b"), List.of("--threads", "1"), "penalty.lambda=0,1e-3")), one.err());
            assertEquals(1, Torch.threads());
        } finally {
            Torch.setThreads(before);
        }
    }

    @Test
    void slurmWritesAJobArrayAndAReportJob(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("sweep");
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run(args(out, List.of("--slurm", "--shards", "3", "--sbatch=--partition=cpu"),
                "penalty.lambda=0,logspace(1e-4,1e-2,3)", "seed=0..1")), cli.err());
        String s = Files.readString(out.resolve("sweep.sbatch"));
        assertTrue(s.contains("\n#SBATCH --array=0-2\n"), s);
        assertTrue(s.contains("\n#SBATCH --partition=cpu\n"), s);
        assertTrue(s.contains(" sweep --config configs/sin2pi.yaml --set data.samples=60"), s);
        assertTrue(s.contains(" --grid 'penalty.lambda=0,logspace(1e-4,1e-2,3)' --grid seed=0..1"), s);
        assertTrue(s.endsWith(" --out " + out.toAbsolutePath() + " --shard \"$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT\"\n"), s);
        // the nodes run as this process: its JVM options and the launcher's glibc settings
        String exec = s.substring(s.indexOf("\nexec "));
        for (String option : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            assertTrue(exec.contains(option), option + " in " + exec);
        }
        assertTrue(exec.contains(" -Dai.djl.offline=true"), exec);
        assertTrue(s.contains("\nexport MALLOC_MMAP_THRESHOLD_=\"${MALLOC_MMAP_THRESHOLD_:-33554432}\"\n"), s);
        assertTrue(s.contains("\nexport MALLOC_TRIM_THRESHOLD_=\"${MALLOC_TRIM_THRESHOLD_:-17179869184}\"\n"), s);
        assertTrue(s.indexOf("export MALLOC_MMAP_THRESHOLD_") < s.indexOf("\nexec "), s);
        String r = Files.readString(out.resolve("report.sbatch"));
        assertTrue(r.contains(" sweep --report " + out.toAbsolutePath() + "\n"), r);
        assertTrue(r.contains("\nexport MALLOC_MMAP_THRESHOLD_="), r);
        assertTrue(cli.out().contains("sbatch --dependency=afterany:$id"), cli.out());
        assertFalse(Files.exists(out.resolve("members").resolve("000-lambda=0-seed=0")), "nothing trained");

        // issue 21, defect 5: the printed submit line is quoted for the shell (a space in --out)
        Path spaced = tmp.resolve("my sweep");
        CliRunner q = new CliRunner();
        assertEquals(0, q.run(args(spaced, List.of("--slurm", "--shards", "2"), "seed=0,1")), q.err());
        assertTrue(q.out().contains("submit with: id=$(sbatch --parsable '" + spaced + "/sweep.sbatch') && sbatch "
                + "--dependency=afterany:$id '" + spaced + "/report.sbatch'"), q.out());
    }
}
