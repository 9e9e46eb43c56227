package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.hesstrain.data.Npz;
import dev.hesstrain.hessian.ParamHessian;
import dev.hesstrain.hessian.SymmetricEigen;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Weights;
import dev.hesstrain.runs.Json;
import dev.hesstrain.runs.MetricsCsv;
import dev.hesstrain.setup.Setup;
import dev.hesstrain.spec.Spec;
import dev.hesstrain.spec.SpecLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spec's {@code monitor} section (issue 20): metrics.csv's sharpness and hessian_trace columns,
 * filled every K epochs and at the last, against the dense parameter Hessian of the data loss
 * (rows by reverse-over-reverse autograd, eigenvalues by EJML) at the saved model.safetensors, and
 * a stacked sweep's members against their plain runs.
 */
class SharpnessMonitorTest {
    /** A tiny float64 tanh net (2-4-1: 17 parameters) on 40 sin2pi points, plain SGD. */
    static final String CONFIG = """
            name: tiny
            seed: 3
            dtype: float64
            data: {generator: "sin(2*pi*x1*x2)", inputs: 2, samples: 40, domain: [-1, 1], validation: 0.25}
            model:
              layers:
                - {type: linear, units: 4}
                - {type: tanh}
                - {type: linear, units: 1}
            loss: mse
            penalty: {lambda: 1.0e-3}
            train: {optimizer: sgd, lr: 0.1, epochs: 5}
            monitor: {sharpness_every: 2, samples: 20, hessian_trace_every: 2}
            """;

    private static Path config(Path tmp) throws IOException {
        Path c = tmp.resolve("tiny.yaml");
        Files.writeString(c, CONFIG);
        return c;
    }

    private static double[] column(Path run, String name) throws IOException {
        MetricsCsv.Table t = MetricsCsv.read(run.resolve("metrics.csv"));
        return t.rows().stream().mapToDouble(r -> r.get(name).isEmpty() ? Double.NaN : Double.parseDouble(r.get(name)))
                .toArray();
    }

    /** The dense Hessian of the data loss on the run's first {@code m} training points at its model.safetensors. */
    private static double[][] denseHessian(Path run, int m) throws IOException {
        Spec spec = SpecLoader.load(run.resolve("spec.yaml"), List.of());
        Map<String, Npz.Array> data = Npz.read(run.resolve("data.npz"));
        Npz.Array x = data.get("x_train");
        Npz.Array y = data.get("y_train");
        int d = (int) x.shape()[1];
        int o = (int) y.shape()[1];
        try (NDManager manager = NDManager.newBaseManager()) {
            Network net = Setup.buildNetwork(spec, "test", d, o, 0, manager);
            Weights.load(net, run.resolve("model.safetensors"));
            try (ParamHessian h = new ParamHessian(net, Arrays.copyOf(x.values(), m * d), m,
                    Arrays.copyOf(y.values(), m * o), spec.loss(), 1)) {
                int p = h.dim();
                double[][] rows = new double[p][];
                for (int i = 0; i < p; i++) {
                    try (NDManager step = manager.newSubManager()) {
                        NDArray row = h.rows(i, 1, step);
                        rows[i] = row.toType(ai.djl.ndarray.types.DataType.FLOAT64, false).toDoubleArray();
                    }
                }
                return rows;
            }
        }
    }

    @Test
    void filledEveryKEpochsAndAtTheLastWithTheDenseHessiansTopEigenvalueAndTrace(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run("train", "--config", config(tmp).toString(), "--out", run.toString()), cli.err());
        double[] sharp = column(run, "sharpness");
        double[] trace = column(run, "hessian_trace");
        assertEquals(5, sharp.length);
        for (int e = 1; e <= 5; e++) {
            boolean due = e % 2 == 0 || e == 5;
            assertEquals(due, Double.isFinite(sharp[e - 1]), "sharpness of epoch " + e);
            assertEquals(due, Double.isFinite(trace[e - 1]), "hessian_trace of epoch " + e);
        }
        double[][] h = denseHessian(run, 20);
        double top = Arrays.stream(SymmetricEigen.of(h).values()).max().orElseThrow();
        double tr = 0;
        for (int i = 0; i < h.length; i++) {
            tr += h[i][i];
        }
        // the monitor stops at a relative residual of 1e-3: the eigenvalue is then good to about the
        // residual squared over the spectral gap, here 1.1e-6 relative
        assertEquals(top, sharp[4], 1e-5 * Math.abs(top));
        assertEquals(tr, trace[4], 1e-9 * Math.abs(tr));
        JsonNode summary = Json.readTree(run.resolve("summary.json"));
        assertEquals(sharp[4], summary.get("sharpness").asDouble(), 0);
        assertEquals(trace[4], summary.get("hessian_trace").asDouble(), 0);
        assertTrue(Files.size(run.resolve("sharpness.png")) > 0);
        String log = Files.readString(run.resolve("train.log"));
        assertTrue(log.contains("epoch 4: sharpness ") && log.contains("Krylov passes") && log.contains("HVPs"), log);
    }

    /**
     * Measuring on a thread of its own while training goes on gives, row for row, the values of
     * measuring on the loop's thread (each on a copy of its epoch's weights, one after another), the
     * rows in the loop's order, and the same log lines in the same order.
     */
    @Test
    void measuringOnItsOwnThreadGivesTheLoopThreadsValuesInOrder(@TempDir Path tmp) throws IOException {
        Path c = tmp.resolve("longer.yaml");
        Files.writeString(c, CONFIG.replace("epochs: 5", "epochs: 13").replace("sharpness_every: 2", "sharpness_every: 3"));
        Map<String, MetricsCsv.Table> tables = new java.util.HashMap<>();
        Map<String, List<String>> logs = new java.util.HashMap<>();
        for (String way : List.of("1", "0")) {
            Path run = tmp.resolve("run-" + way);
            String before = System.getProperty("hesstrain.sharpness.thread");
            System.setProperty("hesstrain.sharpness.thread", way);
            try {
                CliRunner cli = new CliRunner();
                assertEquals(0, cli.run("train", "--config", c.toString(), "--out", run.toString()), cli.err());
            } finally {
                if (before == null) {
                    System.clearProperty("hesstrain.sharpness.thread");
                } else {
                    System.setProperty("hesstrain.sharpness.thread", before);
                }
            }
            tables.put(way, MetricsCsv.read(run.resolve("metrics.csv")));
            logs.put(way, Files.readAllLines(run.resolve("train.log")).stream()
                    .filter(l -> l.contains(": sharpness ") || l.contains(": hessian_trace ") || l.contains(": train_mse "))
                    .map(l -> l.substring(l.indexOf(" - ") + 3).replaceAll("[0-9.]+ s[,)]", "_ s")).toList());
        }
        List<Map<String, String>> own = tables.get("1").rows();
        List<Map<String, String>> loop = tables.get("0").rows();
        assertEquals(13, own.size());
        for (int e = 0; e < own.size(); e++) {
            assertEquals(String.valueOf(e + 1), own.get(e).get("epoch"));
            for (String col : tables.get("0").columns()) {
                if (!col.equals("seconds")) {
                    assertEquals(loop.get(e).get(col), own.get(e).get(col), col + " of epoch " + (e + 1));
                }
            }
        }
        assertTrue(!own.get(2).get("sharpness").isEmpty() && own.get(3).get("sharpness").isEmpty()
                && !own.get(12).get("sharpness").isEmpty());
        assertEquals(logs.get("0"), logs.get("1"));
        assertTrue(logs.get("1").size() > 13, logs.get("1").toString());
    }

    @Test
    void aRunWithoutTheSectionHasNoColumns(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        CliRunner cli = new CliRunner();
        Path c = tmp.resolve("plain.yaml");
        Files.writeString(c, CONFIG.replace("monitor: {sharpness_every: 2, samples: 20, hessian_trace_every: 2}\n", ""));
        assertEquals(0, cli.run("train", "--config", c.toString(), "--out", run.toString()), cli.err());
        assertTrue(!MetricsCsv.read(run.resolve("metrics.csv")).columns().contains("sharpness"));
        assertNull(Json.readTree(run.resolve("summary.json")).get("sharpness"));
        assertTrue(!Files.exists(run.resolve("sharpness.png")));
    }

    @Test
    void stackedSweepMembersEachHaveTheirPlainRunsSharpness(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("sweep");
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run("sweep", "--config", config(tmp).toString(), "--out", out.toString(), "--grid",
                "train.lr=0.05,0.2"), cli.err());
        JsonNode plan = Json.readTree(out.resolve("sweep.json"));
        assertEquals(2, plan.get("members").size());
        double[] first = null;
        for (JsonNode m : plan.get("members")) {
            Path member = out.resolve(m.get("dir").asText());
            assertEquals(2, Json.readTree(member.resolve("summary.json")).get("stacked_members").asInt());
            Path plain = tmp.resolve("plain-" + m.get("id").asText());
            CliRunner train = new CliRunner();
            assertEquals(0, train.run("train", "--config", member.resolve("spec.yaml").toString(), "--out",
                    plain.toString()), train.err());
            for (String c : List.of("sharpness", "hessian_trace")) {
                double[] a = column(member, c);
                double[] b = column(plain, c);
                assertEquals(b.length, a.length);
                for (int e = 0; e < a.length; e++) {
                    if (Double.isNaN(b[e])) {
                        assertTrue(Double.isNaN(a[e]), c + " of epoch " + (e + 1));
                    } else {
                        assertEquals(b[e], a[e], 1e-8 * Math.abs(b[e]), c + " of epoch " + (e + 1) + " of " + m.get("id"));
                    }
                }
            }
            double[] s = column(member, "sharpness");
            if (first == null) {
                first = s;
            } else {
                assertTrue(first[4] != s[4], "the members differ in lr, so in their weights");
            }
        }
    }
}
