package dev.hesstrain.inspect;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hesstrain.hessian.EigenReference;
import dev.hesstrain.hessian.SymmetricEigen;
import dev.hesstrain.runs.Json;
import dev.hesstrain.runs.Npy;
import dev.hesstrain.runs.NpyFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectJobTest {
    static final String TINY = """
            name: tiny
            seed: 3
            dtype: float64
            device: cpu
            data: {generator: "x1*x1 - x2", inputs: 2, samples: 12, validation: 0}
            model:
              layers:
                - {type: linear, units: 3}
                - {type: tanh}
                - {type: linear, units: 1}
            loss: mse
            """;

    static Path spec(Path dir, String text) throws IOException {
        Path f = dir.resolve("spec.yaml");
        Files.writeString(f, text);
        return f;
    }

    static InspectOptions options(Path config, Path out, String wrt, String of, String quantities) {
        InspectOptions d = InspectOptions.defaults();
        return new InspectOptions(null, config, null, List.of(), null, null, of, wrt, List.of(quantities), null, d.probes(),
                d.seed(), d.k(), false, null, null, out, out.getParent(), null);
    }

    static InspectOptions with(InspectOptions o, Path vector, int probes, int k, boolean eigenvectors, Integer rows) {
        return new InspectOptions(o.run(), o.config(), o.weights(), o.overrides(), o.points(), o.samples(), o.of(), o.wrt(),
                o.quantities(), vector, probes, o.seed(), k, eigenvectors, o.steps(), rows, o.out(), o.runsRoot(), o.hvpBatch());
    }

    static InspectJob.Outcome run(InspectOptions o, Path baseDir) throws IOException {
        List<String> lines = new ArrayList<>();
        return new InspectJob(o, baseDir).run(lines::add);
    }

    static double[][] matrix(Npy.Array a) {
        return NpyFixtures.matrix(a);
    }

    @Test
    void parameterQuantitiesAgreeWithTheFullHessian(@TempDir Path dir) throws IOException {
        Path config = spec(dir, TINY);
        int p = 13;
        double[] v = new double[p];
        for (int i = 0; i < p; i++) {
            v[i] = Math.cos(i);
        }
        Path vector = dir.resolve("v.npy");
        Npy.write(vector, v, new long[] {p});
        Path out = dir.resolve("out");
        InspectOptions o = with(options(config, out, "params", "loss", "full,diag,rowsum,hvp,trace,eigs,density"), vector,
                400, 3, true, null);
        InspectJob.Outcome outcome = run(o, dir);
        assertEquals(out, outcome.dir());
        for (String f : new String[] {"hessian.npy", "diag.npy", "rowsum.npy", "hvp.npy", "eigenvalues.npy",
                "eigenvectors.npy", "density.csv", "layout.json", "summary.json", "hessian.png", "eigenvalues.png",
                "density.png"}) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        Npy.Array ha = Npy.read(out.resolve("hessian.npy"));
        assertEquals("<f4", ha.descr());
        assertArrayEquals(new long[] {p, p}, ha.shape());
        double[][] h = matrix(ha);
        double scale = 0;
        for (double[] row : h) {
            for (double x : row) {
                scale = Math.max(scale, Math.abs(x));
            }
        }
        assertTrue(scale > 1e-3, "a Hessian that does not vanish: " + scale);
        double tol = 1e-6 * scale;
        double[] diag = Npy.read(out.resolve("diag.npy")).values();
        double[] rowsum = Npy.read(out.resolve("rowsum.npy")).values();
        double[] hvp = Npy.read(out.resolve("hvp.npy")).values();
        double trace = 0;
        for (int i = 0; i < p; i++) {
            assertEquals(h[i][i], diag[i], tol, "diag " + i);
            double rs = 0;
            double hv = 0;
            for (int j = 0; j < p; j++) {
                assertEquals(h[i][j], h[j][i], tol, "symmetry " + i + "," + j);
                rs += h[i][j];
                hv += h[i][j] * v[j];
            }
            assertEquals(rs, rowsum[i], 10 * tol, "rowsum " + i);
            assertEquals(hv, hvp[i], 10 * tol, "hvp " + i);
            trace += diag[i];
        }
        JsonNode s = Json.readTree(out.resolve("summary.json"));
        JsonNode q = s.get("quantities");
        assertEquals(trace, q.get("trace").get("exact").asDouble(), 1e-9);
        assertEquals(trace, s.get("trace").asDouble(), 1e-9);
        double se = q.get("trace").get("hutchinson_standard_error").asDouble();
        assertTrue(Math.abs(q.get("trace").get("hutchinson").asDouble() - trace) < 4 * se, "Hutchinson within 4 SE");
        assertTrue(s.get("max_asymmetry").asDouble() <= tol);
        double fro = 0;
        for (double[] row : h) {
            for (double x : row) {
                fro += x * x;
            }
        }
        assertEquals(Math.sqrt(fro), s.get("frobenius_norm").asDouble(), 1e-6 * Math.sqrt(fro));
        // eigenvalues: the dense decomposition of the full Hessian
        SymmetricEigen.Result exact = new SymmetricEigen.Result(EigenReference.of(h), null);
        int[] order = SymmetricEigen.byMagnitude(exact.values());
        double[] eig = Npy.read(out.resolve("eigenvalues.npy")).values();
        assertEquals(3, eig.length);
        for (int i = 0; i < 3; i++) {
            assertEquals(exact.values()[order[i]], eig[i], 1e-5 * scale, "eigenvalue " + i);
        }
        assertEquals(exact.values()[0], s.get("lambda_min").asDouble(), 1e-5 * scale);
        assertEquals(exact.values()[p - 1], s.get("lambda_max").asDouble(), 1e-5 * scale);
        Npy.Array vecs = Npy.read(out.resolve("eigenvectors.npy"));
        assertArrayEquals(new long[] {3, p}, vecs.shape());
        double[][] ev = NpyFixtures.matrix(vecs);
        for (int i = 0; i < 3; i++) {
            for (int r = 0; r < p; r++) {
                double hvr = 0;
                for (int c = 0; c < p; c++) {
                    hvr += h[r][c] * ev[i][c];
                }
                assertEquals(eig[i] * ev[i][r], hvr, 1e-4 * scale, "H v = λ v");
            }
        }
        // every quantity says how, how many products and how long
        for (String name : new String[] {"full", "diag", "rowsum", "hvp", "trace", "eigs", "density"}) {
            JsonNode n = q.get(name);
            assertTrue(n.get("method").asText().length() > 10, name);
            assertTrue(n.get("hvps").asLong() >= 0, name);
            assertTrue(n.get("seconds").asDouble() >= 0, name);
        }
        assertEquals(p, q.get("full").get("hvps").asLong());
        assertEquals(1, q.get("rowsum").get("hvps").asLong());
        assertEquals(0, q.get("diag").get("hvps").asLong(), "the diagonal of the full rows is free");
        assertTrue(s.get("provenance").has("hesstrain"));
        assertTrue(s.get("provenance").has("spec_sha256"));
        // layout.json: PyTorch's named_parameters order
        JsonNode layout = Json.readTree(out.resolve("layout.json"));
        assertEquals(p, layout.get("parameters").asInt());
        String[] names = {"0.weight", "0.bias", "2.weight", "2.bias"};
        int[] offsets = {0, 6, 9, 12};
        int[] sizes = {6, 3, 3, 1};
        for (int b = 0; b < 4; b++) {
            JsonNode block = layout.get("blocks").get(b);
            assertEquals(names[b], block.get("name").asText());
            assertEquals(offsets[b], block.get("offset").asInt());
            assertEquals(sizes[b], block.get("size").asInt());
        }
        assertEquals(3, layout.get("blocks").get(0).get("shape").get(0).asInt());
        assertEquals(2, layout.get("blocks").get(0).get("shape").get(1).asInt());
        List<String> density = Files.readAllLines(out.resolve("density.csv"));
        assertEquals("grid,density", density.get(0));
        assertEquals(1001, density.size());
        String table = Report.table(outcome.dir(), outcome.summary());
        assertTrue(table.contains("Hutchinson"), table);
    }

    @Test
    void parallelWorkersWriteTheSameMatrix(@TempDir Path dir) throws IOException {
        Path config = spec(dir, TINY);
        double[][] results = new double[2][];
        for (int threads = 1; threads <= 2; threads++) {
            Path out = dir.resolve("t" + threads);
            InspectOptions o = options(config, out, "params", "loss", "full,diag");
            run(new InspectOptions(o.run(), o.config(), o.weights(), o.overrides(), o.points(), o.samples(), o.of(), o.wrt(),
                    o.quantities(), o.vector(), o.probes(), o.seed(), o.k(), false, o.steps(), null, out, o.runsRoot(), 3,
                    threads), dir);
            results[threads - 1] = Npy.read(out.resolve("hessian.npy")).values();
            JsonNode full = Json.readTree(out.resolve("summary.json")).get("quantities").get("full");
            assertEquals(threads, full.get("workers").asInt());
        }
        assertArrayEquals(results[0], results[1], 0);
    }

    @Test
    void traceAloneRunsOnlyItsProbesAndRecordsThem(@TempDir Path dir) throws IOException {
        // issue 10, 8: trace alone computed the whole diagonal (P products) but recorded only the probes
        Path config = spec(dir, TINY);
        Path out = dir.resolve("out");
        run(with(options(config, out, "params", "loss", "trace"), null, 40, 6, false, null), dir);
        JsonNode s = Json.readTree(out.resolve("summary.json"));
        JsonNode q = s.get("quantities").get("trace");
        assertEquals(40, q.get("hvps").asLong(), "the probes, and nothing else");
        assertEquals(40, s.get("hvps").asLong(), "no products outside the quantities");
        assertTrue(q.get("exact").isNull(), "no exact trace without the diagonal");
        assertEquals("not computed", q.get("exact_method").asText());
        assertEquals("hutchinson", s.get("trace_method").asText());
        assertEquals(q.get("hutchinson").asDouble(), s.get("trace").asDouble(), 0);
        assertTrue(!Files.exists(out.resolve("diag.npy")));
    }

    @Test
    void rowsComputesOnlyTheFirstRows(@TempDir Path dir) throws IOException {
        Path config = spec(dir, TINY);
        Path out = dir.resolve("out");
        run(with(options(config, out, "params", "loss", "full"), null, 10, 6, false, 5), dir);
        assertArrayEquals(new long[] {5, 13}, Npy.read(out.resolve("hessian.npy")).shape());
        JsonNode s = Json.readTree(out.resolve("summary.json"));
        assertEquals(5, s.get("quantities").get("full").get("rows").asInt());
    }

    @Test
    void inputHessiansOfTheLossHaveOneMatrixPerPoint(@TempDir Path dir) throws IOException {
        Path config = spec(dir, TINY);
        Path out = dir.resolve("out");
        InspectJob.Outcome o = run(with(options(config, out, "input", "loss", "full,diag,rowsum,trace,eigs"), null, 50, 2,
                false, null), dir);
        Npy.Array h = Npy.read(out.resolve("hessian.npy"));
        assertArrayEquals(new long[] {12, 1, 2, 2}, h.shape());
        assertArrayEquals(new long[] {12, 1, 2}, Npy.read(out.resolve("diag.npy")).shape());
        assertArrayEquals(new long[] {12, 1, 2}, Npy.read(out.resolve("eigenvalues.npy")).shape());
        double[] hv = h.values();
        double[] diag = Npy.read(out.resolve("diag.npy")).values();
        double[] rowsum = Npy.read(out.resolve("rowsum.npy")).values();
        double trace = 0;
        for (int s = 0; s < 12; s++) {
            for (int j = 0; j < 2; j++) {
                assertEquals(hv[s * 4 + j * 2 + j], diag[s * 2 + j], 1e-15);
                assertEquals(hv[s * 4 + j * 2] + hv[s * 4 + j * 2 + 1], rowsum[s * 2 + j], 1e-15);
                trace += diag[s * 2 + j];
            }
            assertEquals(hv[s * 4 + 1], hv[s * 4 + 2], 1e-15, "symmetric");
        }
        assertEquals(trace, ((Number) o.summary().get("trace")).doubleValue(), 1e-12);
        @SuppressWarnings("unchecked")
        Map<String, Object> q = (Map<String, Object>) ((Map<String, Object>) o.summary().get("quantities")).get("trace");
        assertTrue(Math.abs((Double) q.get("hutchinson") - trace) < 4 * (Double) q.get("hutchinson_standard_error"));
    }

    @Test
    void samplesAndPointFilesSetThePoints(@TempDir Path dir) throws IOException {
        Path config = spec(dir, TINY);
        InspectOptions base = options(config, dir.resolve("a"), "input", "output", "full");
        InspectOptions samples = new InspectOptions(null, config, null, List.of(), null, 4, "output", "input",
                List.of("full"), null, 10, 0, 6, false, null, null, dir.resolve("a"), dir, null);
        run(samples, dir);
        assertArrayEquals(new long[] {4, 1, 2, 2}, Npy.read(dir.resolve("a/hessian.npy")).shape());
        Path csv = dir.resolve("points.csv");
        Files.writeString(csv, "x1,x2\n0.1,0.2\n-0.3,0.4\n0.5,-0.6\n");
        InspectOptions fromCsv = new InspectOptions(null, config, null, List.of(), csv, null, "output", "input",
                List.of("diag"), null, 10, 0, 6, false, null, null, dir.resolve("b"), dir, null);
        run(fromCsv, dir);
        assertArrayEquals(new long[] {3, 1, 2}, Npy.read(dir.resolve("b/diag.npy")).shape());
        assertTrue(base.validate().wants("full"));
    }

    @Test
    void badInputsAreClearErrors(@TempDir Path dir) throws IOException {
        Path config = spec(dir, TINY);
        Path out = dir.resolve("out");
        InspectException e = assertThrows(InspectException.class,
                () -> run(options(config, out, "params", "loss", "full,hessian"), dir));
        assertTrue(e.getMessage().contains("unknown quantity 'hessian'"), e.getMessage());
        e = assertThrows(InspectException.class, () -> run(options(config, out, "params", "loss", "hvp"), dir));
        assertTrue(e.getMessage().contains("--vector"), e.getMessage());
        Path vector = dir.resolve("v.npy");
        Npy.write(vector, new double[] {1, 2, 3}, new long[] {3});
        e = assertThrows(InspectException.class,
                () -> run(with(options(config, out, "params", "loss", "hvp"), vector, 10, 6, false, null), dir));
        assertTrue(e.getMessage().contains("shape [3]") && e.getMessage().contains("13 x 13"), e.getMessage());
        Path wide = dir.resolve("wide.csv");
        Files.writeString(wide, "a,b,c,d\n1,2,3,4\n");
        InspectOptions widePoints = new InspectOptions(null, config, null, List.of(), wide, null, "loss", "input",
                List.of("full"), null, 10, 0, 6, false, null, null, out, dir, null);
        e = assertThrows(InspectException.class, () -> run(widePoints, dir));
        assertTrue(e.getMessage().contains("wrong width") && e.getMessage().contains("4 columns"), e.getMessage());
        Path npy = dir.resolve("x.npy");
        Npy.write(npy, new double[] {1, 2, 3, 4}, new long[] {2, 2});
        InspectOptions noTargets = new InspectOptions(null, config, null, List.of(), npy, null, "loss", "input",
                List.of("full"), null, 10, 0, 6, false, null, null, out, dir, null);
        e = assertThrows(InspectException.class, () -> run(noTargets, dir));
        assertTrue(e.getMessage().contains("needs targets"), e.getMessage());
        // a classifier with two outputs: the Hessian of "the output" is ambiguous
        Path labels = dir.resolve("labels.csv");
        Files.writeString(labels, "x1,x2,label\n0.1,0.2,0\n0.3,-0.1,1\n-0.5,0.2,1\n");
        String classifier = TINY.replace("units: 1}", "units: 2}").replace("loss: mse", "loss: cross_entropy")
                .replace("{generator: \"x1*x1 - x2\", inputs: 2, samples: 12, validation: 0}",
                        "{file: labels.csv, validation: 0}");
        Path cls = dir.resolve("cls.yaml");
        Files.writeString(cls, classifier);
        e = assertThrows(InspectException.class, () -> run(options(cls, out, "params", "output", "full"), dir));
        assertTrue(e.getMessage().contains("one output") && e.getMessage().contains("has 2"), e.getMessage());
    }

    @Test
    void budgetsRefuseWithTheSizeAndTheAlternatives() {
        InspectException e = assertThrows(InspectException.class,
                () -> Budget.disk("the full Hessian (23365 x 23365 float32)", 23365L * 23365 * 4, 1_000_000_000L, Path.of("/x")));
        assertTrue(e.getMessage().contains("2.18 GB") && e.getMessage().contains("1.00 GB"), e.getMessage());
        assertTrue(e.getMessage().contains("diag, trace, eigs or hvp"), e.getMessage());
        e = assertThrows(InspectException.class, () -> Budget.heap("eigs", 8L << 30, 1L << 30));
        assertTrue(e.getMessage().contains("8.59 GB") && e.getMessage().contains("diag, trace, eigs or hvp"), e.getMessage());
        Budget.disk("small", 10, 11, Path.of("/x"));
        Budget.heap("small", 10, 11);
    }

    /** --points reads an .npz archive's 'x' (and 'y'), and names its shape when it does not fit. */
    @Test
    void pointsFromAnNpzArchive(@TempDir Path dir) throws IOException {
        Path config = spec(dir, TINY);
        Path good = dir.resolve("good.npz");
        Path wide = dir.resolve("wide.npz");
        try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
            for (Object[] f : new Object[][] {{good, 2}, {wide, 3}}) {
                ai.djl.ndarray.NDArray x = m.create(new double[(int) f[1] * 3], new ai.djl.ndarray.types.Shape(3, (int) f[1]));
                x.setName("x");
                ai.djl.ndarray.NDArray y = m.create(new double[] {1, 2, 3}, new ai.djl.ndarray.types.Shape(3, 1));
                y.setName("y");
                try (var os = Files.newOutputStream((Path) f[0])) {
                    new ai.djl.ndarray.NDList(x, y).encode(os, ai.djl.ndarray.NDList.Encoding.NPZ);
                }
            }
        }
        InspectOptions base = options(config, dir.resolve("out"), "input", "loss", "diag");
        InspectOptions o = new InspectOptions(null, config, null, List.of(), good, null, "loss", "input", List.of("diag"),
                null, base.probes(), base.seed(), base.k(), false, null, null, dir.resolve("out"), dir, null);
        InspectJob.Outcome outcome = run(o, dir);
        assertEquals(3, outcome.summary().get("points"));
        assertEquals(good.toString(), outcome.summary().get("points_source"));
        InspectOptions bad = new InspectOptions(null, config, null, List.of(), wide, null, "loss", "input",
                List.of("diag"), null, base.probes(), base.seed(), base.k(), false, null, null, dir.resolve("out2"), dir,
                null);
        InspectException e = assertThrows(InspectException.class, () -> run(bad, dir));
        assertTrue(e.getMessage().contains("'x' in " + wide + " has shape (3, 3) but the model takes 2 inputs"),
                e.getMessage());
    }
}
