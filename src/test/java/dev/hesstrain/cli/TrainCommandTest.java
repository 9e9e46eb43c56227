package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import dev.hesstrain.runs.Json;
import dev.hesstrain.spec.Spec;
import dev.hesstrain.spec.SpecLoader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The train command end to end through the real command line, on the shipped config. */
class TrainCommandTest {
    static final String CONFIG = "configs/sin2pi.yaml";

    @Test
    void aShortRunWritesACompleteRunDirectory(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        CliRunner cli = new CliRunner();
        int code = cli.run("train", "--config", CONFIG, "--out", run.toString(), "--set", "train.epochs=5",
                "--set", "train.checkpoint_every=2");
        assertEquals(0, code, cli.err());
        for (String f : List.of("spec.yaml", "metrics.csv", "summary.json", "model.safetensors", "data.npz",
                "loss.png", "hessian.png", "train.log")) {
            assertTrue(Files.isRegularFile(run.resolve(f)), f);
        }
        // the resolved spec, with the override
        Spec spec = SpecLoader.load(run.resolve("spec.yaml"));
        assertEquals(5, spec.train().epochs());
        assertEquals(SpecLoader.load(Path.of(CONFIG), List.of("train.epochs=5", "train.checkpoint_every=2")), spec);
        // metrics: one row per epoch
        List<String> lines = Files.readAllLines(run.resolve("metrics.csv"));
        assertEquals("epoch,train_mse,val_mse,penalty,loss,hessian_fro_mean,hessian_fro_max,lr,seconds", lines.get(0));
        assertEquals(6, lines.size());
        for (int e = 1; e <= 5; e++) {
            String[] row = lines.get(e).split(",");
            assertEquals(Integer.toString(e), row[0]);
            double mse = Double.parseDouble(row[1]);
            double penalty = Double.parseDouble(row[3]);
            assertTrue(mse > 0 && penalty > 0 && Double.parseDouble(row[5]) > 0, lines.get(e));
            assertEquals(mse + penalty, Double.parseDouble(row[4]), 1e-6 * (mse + penalty));
        }
        // summary: final figures, why it stopped, provenance
        JsonNode s = Json.readTree(run.resolve("summary.json"));
        assertEquals("completed", s.get("stopped").asText());
        assertEquals(5, s.get("epochs_run").asInt());
        assertEquals(5, s.get("checkpoint_epoch").asInt());
        assertEquals(308, s.get("parameters").asInt());
        assertTrue(s.get("ms_per_step").asDouble() > 0);
        for (String k : List.of("train_mse", "val_mse", "penalty", "hessian_fro_mean")) {
            assertTrue(s.get(k).isNumber(), k);
        }
        JsonNode p = s.get("provenance");
        assertEquals("0.36.0", p.get("djl").asText());
        assertEquals("2.7.1", p.get("pytorch").asText());
        assertEquals(0, p.get("seed").asLong());
        assertEquals(SpecLoader.hash(spec), p.get("spec_sha256").asText());
        assertEquals(64, p.get("data_sha256").asText().length());
        // weights under PyTorch's names and shapes
        Map<String, Shape> weights = arrays(run.resolve("model.safetensors"));
        Map<String, Shape> expected = new LinkedHashMap<>();
        int[][] sizes = {{10, 2}, {11, 10}, {12, 11}, {1, 12}};
        for (int i = 0; i < 4; i++) {
            expected.put((2 * i) + ".weight", new Shape(sizes[i][0], sizes[i][1]));
            expected.put((2 * i) + ".bias", new Shape(sizes[i][0]));
        }
        assertEquals(expected, weights);
        // the exact data, split 400 / 100
        Map<String, Shape> data = arrays(run.resolve("data.npz"));
        assertEquals(new Shape(400, 2), data.get("x_train"));
        assertEquals(new Shape(400, 1), data.get("y_train"));
        assertEquals(new Shape(100, 2), data.get("x_val"));
        assertEquals(new Shape(100, 1), data.get("y_val"));
        assertNotNull(ImageIO.read(run.resolve("loss.png").toFile()));
        assertNotNull(ImageIO.read(run.resolve("hessian.png").toFile()));
        assertTrue(Files.readString(run.resolve("train.log")).contains("epoch 5"));
        assertTrue(cli.out().contains("train_mse"), cli.out());
    }

    /**
     * Issue 21, 2 and 6: a spec moved out of the repository finds its data beside itself, the run's
     * own spec.yaml loads back from anywhere, train.log names the data file, and a classifier gets
     * its accuracy curve and both accuracies in the table.
     */
    @Test
    void aMovedClassifierSpecFindsItsDataAndReportsItsAccuracy(@TempDir Path tmp) throws IOException {
        Path config = Files.createDirectories(tmp.resolve("moved/configs")).resolve("mlp-nll.yaml");
        Files.copy(Path.of("configs/mlp-nll.yaml"), config);
        Path data = Files.createDirectories(tmp.resolve("moved/datasets")).resolve("mlp-nll.csv");
        Files.copy(Path.of("datasets/mlp-nll.csv"), data);
        Path run = tmp.resolve("run");
        CliRunner cli = new CliRunner();
        int code = cli.run("train", "--config", config.toString(), "--out", run.toString(), "--set", "train.epochs=3");
        assertEquals(0, code, cli.err());
        String used = data.toAbsolutePath().normalize().toString();
        Spec saved = SpecLoader.load(run.resolve("spec.yaml"));
        assertEquals(used, saved.data().file());
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere")).resolve("spec.yaml");
        Files.copy(run.resolve("spec.yaml"), elsewhere);
        assertEquals(saved, SpecLoader.load(elsewhere));
        assertTrue(Files.readString(run.resolve("train.log")).contains("validation samples from " + used),
                Files.readString(run.resolve("train.log")));
        assertNotNull(ImageIO.read(run.resolve("accuracy.png").toFile()));
        assertTrue(cli.out().contains("train_accuracy") && cli.out().contains("val_accuracy"), cli.out());
    }

    @Test
    void theSameSpecAndSeedGiveIdenticalMetrics(@TempDir Path tmp) throws IOException {
        String[] a = metricsWithoutSeconds(tmp.resolve("a"));
        String[] b = metricsWithoutSeconds(tmp.resolve("b"));
        assertArrayEquals(a, b);
        String[] other = metricsWithoutSeconds(tmp.resolve("c"), "seed=1");
        assertFalse(Arrays.equals(a, other), "another seed must give other numbers");
    }

    private static String[] metricsWithoutSeconds(Path run, String... more) throws IOException {
        CliRunner cli = new CliRunner();
        String[] args = {"train", "--config", CONFIG, "--out", run.toString(), "--set", "train.epochs=4"};
        for (String m : more) {
            args = Arrays.copyOf(args, args.length + 2);
            args[args.length - 2] = "--set";
            args[args.length - 1] = m;
        }
        assertEquals(0, cli.run(args), cli.err());
        return Files.readAllLines(run.resolve("metrics.csv")).stream()
                .map(l -> l.substring(0, l.lastIndexOf(','))).toArray(String[]::new);
    }

    @Test
    void withLambdaZeroTheLossIsThePlainMse(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run("train", "--config", CONFIG, "--out", run.toString(), "--set", "train.epochs=3",
                "--set", "penalty.lambda=0", "--set", "train.eval_every=2"), cli.err());
        for (String line : Files.readAllLines(run.resolve("metrics.csv")).subList(1, 4)) {
            String[] r = line.split(",", -1);
            assertEquals(0.0, Double.parseDouble(r[3]));
            assertEquals(Double.parseDouble(r[1]), Double.parseDouble(r[4]));
            if (r[0].equals("1")) { // not evaluated (train.eval_every=2): the norm's cells are empty
                assertEquals("", r[5] + r[6], line);
            } else {
                assertTrue(Double.parseDouble(r[5]) > 0, "the Hessian norm is still reported: " + line);
            }
        }
    }

    /**
     * train.log has a line for the first epoch, every evaluated one and the last, each with the
     * figures its row has: a validation loss only where evaluated (the exact penalty's steps give the
     * Hessian norm every epoch).
     */
    @Test
    void trainLogHasTheFirstAndTheEvaluatedEpochs(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run("train", "--config", CONFIG, "--out", run.toString(), "--set", "train.epochs=7",
                "--set", "train.eval_every=3"), cli.err());
        List<String> lines = Files.readAllLines(run.resolve("train.log")).stream()
                .filter(l -> l.contains("TrainJob - epoch ")).toList();
        assertEquals(List.of("1", "3", "6", "7"), lines.stream()
                .map(l -> l.replaceAll(".*TrainJob - epoch (\\d+):.*", "$1")).toList(), String.join("\n", lines));
        assertFalse(lines.get(0).contains("val_mse"), lines.get(0));
        assertTrue(lines.get(0).contains(" hessian_fro_mean "), lines.get(0));
        for (String l : lines.subList(1, 4)) {
            assertTrue(l.contains(" val_mse ") && l.contains(" penalty ") && l.contains(" hessian_fro_mean "), l);
        }
    }

    @Test
    void reluWithAPenaltyWarnsThatThePenaltyIsZero(@TempDir Path tmp) {
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run("train", "--config", CONFIG, "--out", tmp.resolve("r").toString(),
                "--set", "train.epochs=2", "--set", "model.layers[1].type=relu", "--set", "model.layers[3].type=relu",
                "--set", "model.layers[5].type=relu"), cli.err());
        // the warning goes through the log to stderr and to train.log
        assertTrue(readQuietly(tmp.resolve("r/train.log")).contains("piecewise linear"));
    }

    @Test
    void aDivergingRunKeepsItsLastGoodCheckpointAndSaysWhy(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        CliRunner cli = new CliRunner();
        int code = cli.run("train", "--config", CONFIG, "--out", run.toString(), "--set", "train.epochs=200",
                "--set", "train.lr=1e30", "--set", "train.optimizer=sgd", "--set", "train.checkpoint_every=1");
        assertEquals(ExitCodes.FAILED, code, cli.err());
        JsonNode s = Json.readTree(run.resolve("summary.json"));
        assertEquals("diverged", s.get("stopped").asText());
        int good = s.get("checkpoint_epoch").asInt();
        assertTrue(good >= 0 && good < 200);
        try (NDManager m = NDManager.newBaseManager(); InputStream is = Files.newInputStream(run.resolve("model.safetensors"))) {
            for (NDArray a : NDList.decode(m, is)) {
                assertFalse(a.isNaN().any().getBoolean() || a.isInfinite().any().getBoolean(), a.getName());
            }
        }
    }

    @Test
    void badInputExitsWithTwoAndOneMessage(@TempDir Path tmp) throws IOException {
        Path bad = tmp.resolve("bad.yaml");
        Files.writeString(bad, Files.readString(Path.of(CONFIG)).replace("epochs: 200", "epoch: 200"));
        CliRunner cli = new CliRunner();
        assertEquals(2, cli.run("train", "--config", bad.toString(), "--out", tmp.resolve("r").toString()));
        assertTrue(cli.err().startsWith("error: " + bad + ":24:36: "), cli.err());
        assertTrue(cli.err().contains("train.epoch: unknown key 'epoch'"), cli.err());
        assertNoStackTrace(cli.err());
        assertFalse(Files.exists(tmp.resolve("r")), "nothing is created for a bad spec");

        Path noFile = tmp.resolve("nofile.yaml");
        Files.writeString(noFile, "data: {file: datasets/missing.csv}\nmodel: {layers: [{type: linear, units: 1}]}\n");
        cli = new CliRunner();
        assertEquals(2, cli.run("train", "--config", noFile.toString()));
        assertTrue(cli.err().contains("data.file") && cli.err().contains("missing.csv"), cli.err());
        assertNoStackTrace(cli.err());

        cli = new CliRunner();
        assertEquals(2, cli.run("train", "--config", CONFIG, "--set", "model.input_shape=[3]", "--out",
                tmp.resolve("w").toString()));
        assertTrue(cli.err().contains("model.input_shape"), cli.err());

        cli = new CliRunner();
        assertEquals(2, cli.run("train", "--config", CONFIG, "--set", "model.layers[6].units=2", "--out",
                tmp.resolve("m").toString()));
        assertTrue(cli.err().contains("model.layers: the model has 2 outputs but the data have 1 target"), cli.err());
        assertFalse(Files.exists(tmp.resolve("m")), "nothing is created for a model that does not fit the data");

        // this build ships PyTorch's CPU library only
        cli = new CliRunner();
        assertEquals(2, cli.run("train", "--config", CONFIG, "--set", "device=gpu", "--out", tmp.resolve("g").toString()));
        // issue 21, 4: the error names the override that set the field, not the file
        assertTrue(cli.err().contains(CONFIG + " (--set device=gpu): device: is gpu but PyTorch sees no GPU"), cli.err());
        assertFalse(Files.exists(tmp.resolve("g")));

        cli = new CliRunner();
        assertEquals(2, cli.run("train", "--config", CONFIG, "--out", "/proc/hesstrain-cannot-write"));
        assertTrue(cli.err().contains("/proc/hesstrain-cannot-write"), cli.err());
        assertNoStackTrace(cli.err());

        cli = new CliRunner();
        assertEquals(2, cli.run("train"));
        assertTrue(cli.err().contains("Missing required option: '--config=FILE'"), cli.err());

        cli = new CliRunner();
        assertEquals(2, cli.run("trian"));
        cli = new CliRunner();
        assertEquals(2, cli.run());
    }

    @Test
    void stackTracesOnlyOnRequest(@TempDir Path tmp) {
        CliRunner cli = new CliRunner();
        assertEquals(2, cli.run("-x", "train", "--config", "no/such.yaml"));
        assertTrue(cli.err().contains("\tat "), cli.err());
    }

    @Test
    void helpAndVersion() {
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run("--help"));
        assertTrue(cli.out().contains("inspect-hessian") && cli.out().contains("Exit codes"), cli.out());
        cli = new CliRunner();
        assertEquals(0, cli.run("train", "--help"));
        assertTrue(cli.out().contains("--set") && cli.out().contains("130"), cli.out());
        cli = new CliRunner();
        assertEquals(0, cli.run("--version"));
        assertTrue(cli.out().startsWith("hesstrain "), cli.out());
    }

    /** Issue 10: with no validation rows the final table showed 'val_mse NaN'; undefined figures are left out. */
    @Test
    void withoutValidationRowsTheTableShowsNoNaN(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run("train", "--config", CONFIG, "--out", run.toString(), "--set", "train.epochs=2",
                "--set", "data.validation=0"), cli.err());
        assertFalse(cli.out().contains("NaN") || cli.out().contains("val_mse"), cli.out());
        assertTrue(cli.out().contains("train_mse"), cli.out());
        JsonNode s = Json.readTree(run.resolve("summary.json"));
        assertTrue(s.get("val_mse").isNull(), "summary.json keeps the key, as null: " + s);
    }

    /** Issue 10: the command list of --help cut both summaries mid-sentence (the first of several description lines). */
    @Test
    void topLevelHelpListsWholeSentences() {
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run("--help"));
        String help = cli.out().replace("\r", "");
        String commands = help.substring(help.indexOf("Commands:\n") + "Commands:\n".length(), help.indexOf("\n\n",
                help.indexOf("Commands:")));
        Map<String, String> summaries = new LinkedHashMap<>();
        String current = null;
        for (String line : commands.split("\n")) {
            if (line.startsWith("  ") && !line.startsWith("    ")) {
                String[] parts = line.strip().split("\\s+", 2);
                current = parts[0];
                summaries.put(current, parts.length > 1 ? parts[1] : "");
            } else {
                summaries.put(current, summaries.get(current) + " " + line.strip());
            }
        }
        assertTrue(summaries.keySet().containsAll(List.of("train", "inspect-hessian", "help")), help);
        for (Map.Entry<String, String> e : summaries.entrySet()) {
            assertTrue(e.getValue().endsWith("."), e.getKey() + ": '" + e.getValue() + "'");
        }
    }

    static void assertNoStackTrace(String err) {
        assertFalse(err.contains("\tat ") || err.contains("Exception"), err);
    }

    static String readQuietly(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }

    static Map<String, Shape> arrays(Path file) throws IOException {
        Map<String, Shape> shapes = new LinkedHashMap<>();
        try (NDManager m = NDManager.newBaseManager(); InputStream is = Files.newInputStream(file)) {
            for (NDArray a : NDList.decode(m, is)) {
                shapes.put(a.getName(), a.getShape());
            }
        }
        return new java.util.TreeMap<>(shapes).entrySet().stream().collect(LinkedHashMap::new,
                (mm, e) -> mm.put(e.getKey(), e.getValue()), Map::putAll);
    }
}
