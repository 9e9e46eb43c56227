package dev.hesstrain.inspect;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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

    static Set<Choice.Quantity> quantities(String list) {
        Set<Choice.Quantity> qs = EnumSet.noneOf(Choice.Quantity.class);
        for (String q : list.split(",")) {
            qs.add(Choice.Quantity.parse(q));
        }
        return qs;
    }

    static InspectOptions.Builder builder(Path config, Path out, String wrt, String of, String quantities) {
        return InspectOptions.builder().config(config).of(of == null ? null : Choice.Of.parse(of))
                .wrt(Choice.Wrt.parse(wrt)).quantities(quantities(quantities)).out(out).runsRoot(out.getParent());
    }

    static InspectOptions options(Path config, Path out, String wrt, String of, String quantities) {
        return builder(config, out, wrt, of, quantities).build();
    }

    static InspectOptions with(InspectOptions o, Path vector, int probes, int k, boolean eigenvectors, Integer rows) {
        return o.toBuilder().vector(vector).probes(probes).k(k).eigenvectors(eigenvectors).rows(rows).build();
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
        assertEquals("<f8", ha.descr(), "a float64 model's Hessian in float64 (issue 10: it was float32)");
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
        String table = Report.table(outcome);
        assertTrue(table.contains("Hutchinson"), table);
    }

    @Test
    void parallelWorkersWriteTheSameMatrix(@TempDir Path dir) throws IOException {
        Path config = spec(dir, TINY);
        double[][] results = new double[2][];
        for (int threads = 1; threads <= 2; threads++) {
            Path out = dir.resolve("t" + threads);
            run(builder(config, out, "params", "loss", "full,diag").hvpBatch(3).threads(threads).build(), dir);
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
        InspectOptions rows = builder(config, out, "params", "loss", "trace").method(Choice.Method.ROWS).build();
        run(with(rows, null, 40, 6, false, null), dir);
        JsonNode s = Json.readTree(out.resolve("summary.json"));
        JsonNode q = s.get("quantities").get("trace");
        assertEquals(40, q.get("hvps").asLong(), "the probes, and nothing else");
        assertEquals(40, s.get("hvps").asLong(), "no products outside the quantities");
        assertTrue(q.get("exact").isNull(), "no exact trace without the diagonal");
        assertEquals("not computed", q.get("exact_method").asText());
        assertEquals("hutchinson", s.get("trace_method").asText());
        assertEquals(q.get("hutchinson").asDouble(), s.get("trace").asDouble(), 0);
        assertTrue(!Files.exists(out.resolve("diag.npy")));
        String table = Report.table(run(with(rows.toBuilder().out(dir.resolve("again")).build(), null,
                40, 6, false, null), dir));
        assertTrue(table.contains("exact not computed (add diag)"), table);
    }

    /**
     * Issue 20: by default the diagonal and the trace come from the curvature backpropagation pass, exact and
     * without products, equal to every row's; the GGN's diagonal is written beside, with each block's split; a
     * Hutchinson estimate only when --probes is given.
     */
    @Test
    void theBackpropagatedDiagonalAndTraceMatchTheRowsWithoutProducts(@TempDir Path dir) throws IOException {
        Path config = spec(dir, TINY);
        Path rows = dir.resolve("rows");
        run(builder(config, rows, "params", "loss", "diag,trace").method(Choice.Method.ROWS).build(), dir);
        Path pass = dir.resolve("pass");
        String table = Report.table(run(options(config, pass, "params", "loss", "diag,trace"), dir));
        double[] expected = Npy.read(rows.resolve("diag.npy")).values();
        double[] actual = Npy.read(pass.resolve("diag.npy")).values();
        assertArrayEquals(expected, actual, 1e-10);
        JsonNode s = Json.readTree(pass.resolve("summary.json"));
        assertEquals(0, s.get("hvps").asLong());
        assertEquals("backprop", s.get("quantities").get("diag").get("method_id").asText());
        assertEquals("exact", s.get("trace_method").asText());
        assertTrue(s.get("quantities").get("trace").get("hutchinson") == null, "no estimate unless --probes is given");
        assertTrue(!table.contains("Hutchinson"), table);
        double[] ggn = Npy.read(pass.resolve("diag_ggn.npy")).values();
        JsonNode blocks = s.get("quantities").get("diag").get("blocks");
        double total = 0;
        for (JsonNode b : blocks) {
            assertEquals(b.get("hessian_sum").asDouble() - b.get("ggn_sum").asDouble(), b.get("residual_sum").asDouble(),
                    1e-12);
            total += b.get("ggn_sum").asDouble();
        }
        assertEquals(java.util.Arrays.stream(ggn).sum(), total, 1e-10);
        Path probes = dir.resolve("probes");
        run(with(options(config, probes, "params", "loss", "trace"), null, 30, 6, false, null), dir);
        JsonNode t = Json.readTree(probes.resolve("summary.json")).get("quantities").get("trace");
        assertEquals(30, t.get("hvps").asLong());
        assertEquals(java.util.Arrays.stream(expected).sum(), t.get("exact").asDouble(), 1e-10);
    }

    /** --curvature ggn: the diagonal from the pass equals the diagonal of the rows of its operator, and its trace. */
    @Test
    void theGgnThroughTheOneOperatorType(@TempDir Path dir) throws IOException {
        Path config = spec(dir, TINY);
        Path rows = dir.resolve("rows");
        run(builder(config, rows, "params", "loss", "full,diag,trace,eigs").curvature(Choice.Matrix.GGN)
                .method(Choice.Method.ROWS).build(), dir);
        Path pass = dir.resolve("pass");
        run(builder(config, pass, "params", "loss", "diag,trace").curvature(Choice.Matrix.GGN).build(), dir);
        double[] expected = Npy.read(rows.resolve("diag.npy")).values();
        assertArrayEquals(expected, Npy.read(pass.resolve("diag.npy")).values(), 1e-10);
        JsonNode s = Json.readTree(rows.resolve("summary.json"));
        assertEquals("ggn", s.get("curvature").asText());
        assertTrue(s.get("lambda_min").asDouble() > -1e-10, "the GGN of a convex loss is positive semi-definite");
        assertTrue(s.get("max_asymmetry").asDouble() < 1e-10);
    }

    /** A model the pass cannot take: its one-line reason on the progress, the rows used; the GGN refused with it. */
    @Test
    void aModelThePassRefusesFallsBackToTheRows(@TempDir Path dir) throws IOException {
        Path config = spec(dir, TINY.replace("- {type: tanh}", "- {type: log_softmax}"));
        Path out = dir.resolve("out");
        List<String> lines = new ArrayList<>();
        new InspectJob(options(config, out, "params", "loss", "diag"), dir).run(lines::add);
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("the curvature backpropagation pass cannot take this model: "
                + "log_softmax at layer 1")), lines.toString());
        JsonNode q = Json.readTree(out.resolve("summary.json")).get("quantities").get("diag");
        assertEquals("rows", q.get("method_id").asText());
        assertEquals(13, q.get("hvps").asLong());
        InspectException e = assertThrows(InspectException.class, () -> run(builder(config, dir.resolve("ggn"),
                "params", "loss", "diag").curvature(Choice.Matrix.GGN).build(), dir));
        assertTrue(e.getMessage().startsWith("--curvature ggn: log_softmax at layer 1"), e.getMessage());
    }

    @Test
    void theFullHessianIsWrittenInTheModelsDtype(@TempDir Path dir) throws IOException {
        Path f32 = dir.resolve("f32");
        Files.createDirectories(f32);
        Path config32 = spec(f32, TINY.replace("dtype: float64", "dtype: float32"));
        run(options(config32, dir.resolve("o32"), "params", "loss", "full"), dir);
        Npy.Array a32 = Npy.read(dir.resolve("o32/hessian.npy"));
        assertEquals("<f4", a32.descr());
        Path config64 = spec(dir, TINY);
        run(options(config64, dir.resolve("o64"), "params", "loss", "full,diag"), dir);
        Npy.Array a64 = Npy.read(dir.resolve("o64/hessian.npy"));
        assertEquals("<f8", a64.descr());
        JsonNode s = Json.readTree(dir.resolve("o64/summary.json"));
        assertEquals("float64", s.get("quantities").get("full").get("dtype").asText());
        // the float64 matrix agrees with the float32 one to float32 precision, and its diagonal is diag.npy exactly
        double[] d = Npy.read(dir.resolve("o64/diag.npy")).values();
        for (int i = 0; i < 13; i++) {
            assertEquals(a64.values()[i * 13 + i], d[i], 0);
            for (int j = 0; j < 13; j++) {
                assertEquals(a64.values()[i * 13 + j], a32.values()[i * 13 + j], 1e-4, i + "," + j);
            }
        }
        assertTrue(s.get("max_asymmetry").asDouble() < 1e-12, "float64 symmetry: " + s.get("max_asymmetry"));
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
        InspectOptions samples = builder(config, dir.resolve("a"), "input", "output", "full").samples(4).probes(10)
                .runsRoot(dir).build();
        run(samples, dir);
        assertArrayEquals(new long[] {4, 1, 2, 2}, Npy.read(dir.resolve("a/hessian.npy")).shape());
        Path csv = dir.resolve("points.csv");
        Files.writeString(csv, "x1,x2\n0.1,0.2\n-0.3,0.4\n0.5,-0.6\n");
        InspectOptions fromCsv = builder(config, dir.resolve("b"), "input", "output", "diag").points(csv).probes(10)
                .runsRoot(dir).build();
        run(fromCsv, dir);
        assertArrayEquals(new long[] {3, 1, 2}, Npy.read(dir.resolve("b/diag.npy")).shape());
        assertTrue(base.validate().wants(Choice.Quantity.FULL));
    }

    @Test
    void anExtraCsvColumnIsRefusedForTheOutput(@TempDir Path dir) throws IOException {
        // issue 10, 12: with --of output the third column was dropped silently
        Path config = spec(dir, TINY);
        Path csv = dir.resolve("points.csv");
        Files.writeString(csv, "x1,x2,x3\n0.1,0.2,0.3\n-0.3,0.4,0.5\n");
        InspectException e = assertThrows(InspectException.class,
                () -> run(builder(config, dir.resolve("o"), "input", "output", "diag").points(csv).build(), dir));
        assertTrue(e.getMessage().contains("points of wrong width") && e.getMessage().contains("3 columns (x1,x2,x3)")
                && e.getMessage().contains("--of output takes only the model's 2 inputs"), e.getMessage());
        // as targets of a loss the same file is read
        run(builder(config, dir.resolve("l"), "input", "loss", "diag").points(csv).build(), dir);
        assertArrayEquals(new long[] {2, 1, 2}, Npy.read(dir.resolve("l/diag.npy")).shape());
    }

    @Test
    void nonFiniteWeightsAreRefusedBeforeAnythingIsComputed(@TempDir Path dir) throws IOException {
        // issue 10, 11: NaN weights gave all-null input Hessians with exit 0, and a failed QL for eigs
        Path config = spec(dir, TINY);
        Path weights = dir.resolve("nan.safetensors");
        java.util.Map<String, double[]> t = new java.util.LinkedHashMap<>();
        t.put("0.weight", new double[] {Double.NaN, 1, 2, 3, 4, 5});
        t.put("0.bias", new double[] {0, 0, 0});
        t.put("2.weight", new double[] {1, 1, 1});
        t.put("2.bias", new double[] {0});
        writeSafetensors(weights, t, new long[][] {{3, 2}, {3}, {1, 3}, {1}});
        for (String wrt : List.of("input", "params")) {
            Path out = dir.resolve("o-" + wrt);
            InspectException e = assertThrows(InspectException.class, () -> run(builder(config, out, wrt, null,
                    "diag,trace,eigs").weights(weights).build(), dir));
            assertTrue(e.getMessage().contains("NaN") && e.getMessage().contains("not finite"), e.getMessage());
            assertTrue(!Files.exists(out.resolve("summary.json")), "no summary of nothing");
            assertTrue(!Files.exists(out.resolve("eigenvalues.npy")));
        }
    }

    /** A float64 safetensors file (the format's header: a little-endian length, then JSON). */
    static void writeSafetensors(Path file, java.util.Map<String, double[]> tensors, long[][] shapes) throws IOException {
        StringBuilder json = new StringBuilder("{");
        long offset = 0;
        int i = 0;
        for (java.util.Map.Entry<String, double[]> e : tensors.entrySet()) {
            long end = offset + e.getValue().length * 8L;
            json.append(i > 0 ? "," : "").append('"').append(e.getKey()).append("\":{\"dtype\":\"F64\",\"shape\":")
                    .append(java.util.Arrays.toString(shapes[i])).append(",\"data_offsets\":[").append(offset).append(',')
                    .append(end).append("]}");
            offset = end;
            i++;
        }
        byte[] header = json.append('}').toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + header.length + (int) offset)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header);
        for (double[] v : tensors.values()) {
            for (double x : v) {
                b.putDouble(x);
            }
        }
        Files.write(file, b.array());
    }

    @Test
    void eigsWithFewerStepsThanKIsRefusedNotSilentlyRaised(@TempDir Path dir) throws IOException {
        Path config = spec(dir, TINY);
        Path out = dir.resolve("out");
        InspectOptions one = builder(config, out, "params", "loss", "eigs").steps(1).build();
        InspectException e = assertThrows(InspectException.class, () -> run(one, dir));
        assertEquals("--steps 1 is fewer than --k 6: Lanczos takes at least k steps to give k eigenvalues at each end;"
                + " give --steps 6 or more, or --k 1", e.getMessage());
        assertFalse(Files.exists(out));
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
        InspectOptions widePoints = builder(config, out, "input", "loss", "full").points(wide).probes(10).runsRoot(dir)
                .build();
        e = assertThrows(InspectException.class, () -> run(widePoints, dir));
        assertTrue(e.getMessage().contains("wrong width") && e.getMessage().contains("4 columns"), e.getMessage());
        Path npy = dir.resolve("x.npy");
        Npy.write(npy, new double[] {1, 2, 3, 4}, new long[] {2, 2});
        InspectOptions noTargets = builder(config, out, "input", "loss", "full").points(npy).probes(10).runsRoot(dir)
                .build();
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
    void engineMemoryIsCheckedAgainstWhatTheMachineHas() {
        InspectException e = assertThrows(InspectException.class,
                () -> Budget.memory("the input Hessians", 3L << 40, 2L << 30));
        assertTrue(e.getMessage().contains("3.30 TB of memory") && e.getMessage().contains("2.15 GB available")
                && e.getMessage().contains("--points"), e.getMessage());
        long available = Budget.availableMemory();
        assertTrue(available > 0 && available < Long.MAX_VALUE, "this machine reports its memory: " + available);
        Budget.memory("a little", 1, available);
    }

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
        InspectOptions o = builder(config, dir.resolve("out"), "input", "loss", "diag").points(good).runsRoot(dir).build();
        InspectJob.Outcome outcome = run(o, dir);
        assertEquals(3, outcome.summary().get("points"));
        assertEquals(good.toString(), outcome.summary().get("points_source"));
        InspectOptions bad = builder(config, dir.resolve("out2"), "input", "loss", "diag").points(wide).runsRoot(dir)
                .build();
        InspectException e = assertThrows(InspectException.class, () -> run(bad, dir));
        assertTrue(e.getMessage().contains("'x' in " + wide + " has shape (3, 3) but the model takes 2 inputs"),
                e.getMessage());
    }

    static final String WIDER = """
            name: wider
            seed: 5
            dtype: float64
            device: cpu
            data: {generator: "sin(x1)*x2 + x3*x4 - x2*x4", inputs: 4, samples: 9, validation: 0}
            model:
              layers:
                - {type: linear, units: 6}
                - {type: tanh}
                - {type: linear, units: 5}
                - {type: softplus}
                - {type: linear, units: 1}
            loss: mse
            """;

    /**
     * Issue 9, deliver 2: at d = 4 (the closed form) diag, trace and rowsum come from the pass
     * without forming H (no hessian.npy, the methods say so) and equal the diagonal, trace and row
     * sums of the formed Hessians of a `full` run to 1e-12, for the output and for the loss.
     */
    @ParameterizedTest
    @ValueSource(strings = {"output", "loss"})
    void closedFormDiagonalAndTraceEqualTheFormedHessians(String of, @TempDir Path dir) throws IOException {
        Path config = spec(dir, WIDER);
        Path lean = dir.resolve("lean");
        Path formed = dir.resolve("formed");
        InspectJob.Outcome a = run(with(options(config, lean, "input", of, "diag,trace,rowsum"), null, 200, 2, false,
                null), dir);
        run(with(options(config, formed, "input", of, "full"), null, 10, 2, false, null), dir);
        assertTrue(!Files.exists(lean.resolve("hessian.npy")), "diag and trace form no Hessian");
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> q = (Map<String, Map<String, Object>>) a.summary().get("quantities");
        assertTrue(((String) q.get("diag").get("method")).contains("without forming H"), q.get("diag").toString());
        assertEquals("closed form", q.get("trace").get("exact_method"));
        Npy.Array h = Npy.read(formed.resolve("hessian.npy"));
        assertArrayEquals(new long[] {9, 1, 4, 4}, h.shape());
        double[] hv = h.values();
        double[] diag = Npy.read(lean.resolve("diag.npy")).values();
        double[] rowsum = Npy.read(lean.resolve("rowsum.npy")).values();
        double scale = 0;
        for (double v : hv) {
            scale = Math.max(scale, Math.abs(v));
        }
        assertTrue(scale > 1e-2, "a Hessian that does not vanish: " + scale);
        double trace = 0;
        double fro = 0;
        for (int s = 0; s < 9; s++) {
            for (int j = 0; j < 4; j++) {
                assertEquals(hv[s * 16 + j * 5], diag[s * 4 + j], 1e-12 * scale, "diag " + s + "," + j);
                double rs = 0;
                for (int k = 0; k < 4; k++) {
                    rs += hv[s * 16 + j * 4 + k];
                    fro += hv[s * 16 + j * 4 + k] * hv[s * 16 + j * 4 + k];
                }
                assertEquals(rs, rowsum[s * 4 + j], 1e-12 * scale, "rowsum " + s + "," + j);
                trace += diag[s * 4 + j];
            }
        }
        assertEquals(trace, ((Number) a.summary().get("trace")).doubleValue(), 1e-12 * scale * 9);
        assertEquals(Math.sqrt(fro), ((Number) a.summary().get("frobenius_norm")).doubleValue(), 1e-12 * Math.sqrt(fro));
        Map<String, Object> t = q.get("trace");
        assertTrue(Math.abs((Double) t.get("hutchinson") - trace) < 4 * (Double) t.get("hutchinson_standard_error"));
    }
}
