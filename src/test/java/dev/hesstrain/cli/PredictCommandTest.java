package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import dev.hesstrain.runs.Json;
import dev.hesstrain.runs.Npy;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** hesstrain predict through the real command line: a golden network, PyTorch's own outputs and Hessians, bad points. */
class PredictCommandTest {
    /** f(x) = Σ_k v_k tanh(W_k·x + b_k) + c: d = 2, three hidden units, float64. */
    static final double[][] W = {{0.5, -1.0}, {1.5, 0.25}, {-0.75, 0.8}};
    static final double[] B = {0.1, -0.2, 0.3};
    static final double[] V = {1.0, -2.0, 0.5};
    static final double C = 0.25;

    static final String SPEC = """
            name: golden
            seed: 0
            dtype: float64
            device: cpu
            data: {generator: "x1*x2", inputs: 2, samples: 20}
            model:
              layers:
                - {type: linear, units: 3}
                - {type: tanh}
                - {type: linear, units: 1}
            loss: mse
            train: {optimizer: sgd, lr: 0.01, epochs: 1}
            """;

    /** A run of the golden spec, its trained weights replaced by W, B, V, C. */
    static Path goldenRun(Path tmp) throws IOException {
        Path spec = tmp.resolve("golden.yaml");
        Files.writeString(spec, SPEC);
        Path run = tmp.resolve("run");
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run("train", "--config", spec.toString(), "--out", run.toString(), "--no-tensorboard"), cli.err());
        try (NDManager m = NDManager.newBaseManager(); OutputStream os = Files.newOutputStream(run.resolve("model.safetensors"))) {
            NDList list = new NDList();
            list.add(named(m.create(new double[] {W[0][0], W[0][1], W[1][0], W[1][1], W[2][0], W[2][1]}, new Shape(3, 2)), "0.weight"));
            list.add(named(m.create(B), "0.bias"));
            list.add(named(m.create(V, new Shape(1, 3)), "2.weight"));
            list.add(named(m.create(new double[] {C}), "2.bias"));
            list.encode(os, NDList.Encoding.SAFETENSORS);
        }
        return run;
    }

    private static NDArray named(NDArray a, String name) {
        a.setName(name);
        return a;
    }

    /** f, ‖H‖_F and tr H at x, analytically: H = Σ_k v_k tanh''(z_k) w_k w_kᵀ, tanh'' = -2 t (1 - t²). */
    static double[] golden(double x1, double x2) {
        double f = C;
        double[][] h = new double[2][2];
        for (int k = 0; k < 3; k++) {
            double t = Math.tanh(W[k][0] * x1 + W[k][1] * x2 + B[k]);
            f += V[k] * t;
            double s = V[k] * -2 * t * (1 - t * t);
            for (int i = 0; i < 2; i++) {
                for (int j = 0; j < 2; j++) {
                    h[i][j] += s * W[k][i] * W[k][j];
                }
            }
        }
        double fro = Math.sqrt(h[0][0] * h[0][0] + h[0][1] * h[0][1] + h[1][0] * h[1][0] + h[1][1] * h[1][1]);
        return new double[] {f, fro, h[0][0] + h[1][1]};
    }

    @Test
    void aGoldenNetworksOutputsAndHessianNorms(@TempDir Path tmp) throws IOException {
        Path run = goldenRun(tmp);
        double[][] pts = {{0.1, 0.2}, {-0.5, 0.3}, {0.9, -0.7}};
        // a CSV with a header, and the same without
        Path withHeader = tmp.resolve("p.csv");
        Files.writeString(withHeader, "a,b\n0.1,0.2\n-0.5,0.3\n0.9,-0.7\n");
        Path noHeader = tmp.resolve("q.csv");
        Files.writeString(noHeader, "0.1,0.2\n-0.5,0.3\n0.9,-0.7\n");
        for (Path in : List.of(withHeader, noHeader)) {
            Path out = tmp.resolve("out-" + in.getFileName());
            CliRunner cli = new CliRunner();
            assertEquals(0, cli.run("predict", "--run", run.toString(), "--points", in.toString(), "--out", out.toString(),
                    "--with", "hessian-fro,hessian-trace"), cli.err());
            List<String> lines = Files.readAllLines(out);
            assertEquals((in == withHeader ? "a,b" : "x1,x2") + ",y,hessian_fro,hessian_trace", lines.get(0));
            assertEquals(4, lines.size());
            for (int i = 0; i < 3; i++) {
                String[] f = lines.get(i + 1).split(",");
                double[] g = golden(pts[i][0], pts[i][1]);
                assertEquals(pts[i][0], Double.parseDouble(f[0]));
                assertEquals(g[0], Double.parseDouble(f[2]), 1e-12, "f at point " + i);
                assertEquals(g[1], Double.parseDouble(f[3]), 1e-12, "|H|_F at point " + i);
                assertEquals(g[2], Double.parseDouble(f[4]), 1e-12, "tr H at point " + i);
            }
        }
        // .npy in, .npy out: [N, 1] float64 (the model's dtype), the norms beside it
        Path npy = tmp.resolve("p.npy");
        Npy.write(npy, new double[] {0.1, 0.2, -0.5, 0.3, 0.9, -0.7}, new long[] {3, 2});
        Path out = tmp.resolve("y.npy");
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run("predict", "--run", run.toString(), "--points", npy.toString(), "--out", out.toString(),
                "--with", "hessian-fro"), cli.err());
        Npy.Array y = Npy.read(out);
        assertEquals(Npy.F8, y.descr());
        assertEquals(List.of(3L, 1L), List.of(y.shape()[0], y.shape()[1]));
        Npy.Array fro = Npy.read(tmp.resolve("y.hessian_fro.npy"));
        for (int i = 0; i < 3; i++) {
            assertEquals(golden(pts[i][0], pts[i][1])[0], y.values()[i], 1e-12);
            assertEquals(golden(pts[i][0], pts[i][1])[1], fro.values()[i], 1e-12);
        }
        assertFalse(Files.exists(tmp.resolve("y.hessian_trace.npy")));
    }

    @Test
    void badPointsExit2NamingTheFile(@TempDir Path tmp) throws IOException {
        Path run = goldenRun(tmp);
        Path wide = tmp.resolve("wide.csv");
        Files.writeString(wide, "x1,x2,x3\n1,2,3\n");
        Path nanCsv = tmp.resolve("nan.csv");
        Files.writeString(nanCsv, "x1,x2\n1,nan\n");
        Path empty = tmp.resolve("empty.csv");
        Files.writeString(empty, "");
        Path nanNpy = tmp.resolve("nan.npy");
        Npy.write(nanNpy, new double[] {0.1, Double.NaN}, new long[] {1, 2});
        Path emptyNpy = tmp.resolve("empty.npy");
        Npy.write(emptyNpy, new double[0], new long[] {0, 2});
        Path wideNpy = tmp.resolve("wide.npy");
        Npy.write(wideNpy, new double[9], new long[] {3, 3});
        for (Path p : List.of(wide, nanCsv, empty, nanNpy, emptyNpy, wideNpy)) {
            Path out = tmp.resolve("out.csv");
            CliRunner cli = new CliRunner();
            assertEquals(2, cli.run("predict", "--run", run.toString(), "--points", p.toString(), "--out", out.toString()),
                    p + ": " + cli.err());
            assertTrue(cli.err().startsWith("error: --points: ") && cli.err().contains(p.toString()), cli.err());
            assertEquals(1, cli.err().strip().lines().count(), cli.err());
            assertFalse(Files.exists(out));
        }
    }

    @Test
    void aClassifiersClassIsItsLargestOutputWithItsProbability(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run("train", "--config", "configs/mlp-nll.yaml", "--out", run.toString(), "--set",
                "train.epochs=3", "--no-tensorboard"), cli.err());
        Path pts = tmp.resolve("p.csv");
        Files.writeString(pts, "0.1,0.2,0.3,0.4,0.5\n-0.9,0.8,-0.7,0.6,-0.5\n0,0,0,0,0\n");
        Path out = tmp.resolve("o.csv");
        CliRunner p = new CliRunner();
        assertEquals(0, p.run("predict", "--run", run.toString(), "--points", pts.toString(), "--out", out.toString()), p.err());
        List<String> lines = Files.readAllLines(out);
        assertEquals("x1,x2,x3,x4,x5,output_0,output_1,output_2,class,probability", lines.get(0));
        for (String l : lines.subList(1, lines.size())) {
            String[] f = l.split(",");
            double[] logp = {Double.parseDouble(f[5]), Double.parseDouble(f[6]), Double.parseDouble(f[7])};
            int best = 0;
            for (int q = 1; q < 3; q++) {
                best = logp[q] > logp[best] ? q : best;
            }
            assertEquals(1.0, Math.exp(logp[0]) + Math.exp(logp[1]) + Math.exp(logp[2]), 1e-12); // log_softmax outputs
            assertEquals(best, Integer.parseInt(f[8]));
            assertEquals(Math.exp(logp[best]), Double.parseDouble(f[9]), 1e-12);
        }
    }

    @Test
    void matchesTheModelLoadedIntoPyTorch(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(torchAvailable(), "/usr/bin/python3 with torch and yaml is not available");
        for (String config : List.of("configs/sin2pi.yaml", "configs/mlp-nll.yaml")) {
            Path run = tmp.resolve("run-" + Path.of(config).getFileName());
            CliRunner cli = new CliRunner();
            assertEquals(0, cli.run("train", "--config", config, "--out", run.toString(), "--set", "train.epochs=3",
                    "--no-tensorboard"), cli.err());
            int d = config.contains("nll") ? 5 : 2;
            double[] x = new double[4 * d];
            for (int i = 0; i < x.length; i++) {
                x[i] = Math.sin(1.7 * i + 0.3); // points in [-1, 1]
            }
            Path pts = tmp.resolve("p" + d + ".npy");
            Npy.write(pts, x, new long[] {4, d});
            Path out = tmp.resolve("y" + d + ".npy");
            CliRunner p = new CliRunner();
            assertEquals(0, p.run("predict", "--run", run.toString(), "--points", pts.toString(), "--out", out.toString(),
                    "--with", "hessian-fro,hessian-trace"), p.err());
            JsonNode torch = Json.mapper().readTree(python(Path.of("src/test/resources/predict/torch_predict.py").toString(),
                    run.toString(), pts.toString()));
            Npy.Array y = Npy.read(out);
            Npy.Array fro = Npy.read(tmp.resolve("y" + d + ".hessian_fro.npy"));
            Npy.Array trace = Npy.read(tmp.resolve("y" + d + ".hessian_trace.npy"));
            int o = (int) y.shape()[1];
            boolean f32 = y.descr().equals(Npy.F4);
            double tol = f32 ? 2e-5 : 1e-10; // sin2pi is float32, mlp-nll float64
            for (int i = 0; i < 4; i++) {
                for (int q = 0; q < o; q++) {
                    assertEquals(torch.get("y").get(i).get(q).asDouble(), y.values()[i * o + q], tol, config + " y");
                    assertEquals(torch.get("trace").get(i).get(q).asDouble(), trace.values()[i * o + q],
                            tol * (1 + Math.abs(trace.values()[i * o + q])), config + " trace");
                }
                assertEquals(torch.get("fro").get(i).asDouble(), fro.values()[i], tol * (1 + fro.values()[i]), config + " fro");
            }
        }
    }

    static boolean torchAvailable() {
        try {
            Process p = new ProcessBuilder("/usr/bin/python3", "-c", "import torch, yaml").redirectErrorStream(true).start();
            return p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    static String python(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "python timed out");
        assertEquals(0, p.exitValue(), out);
        return out;
    }
}
