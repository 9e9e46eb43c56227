package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hesstrain.runs.Json;
import dev.hesstrain.runs.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** inspect-hessian end to end through the real command line, on a short run of the shipped sin2pi config. */
class InspectHessianCommandTest {
    static final String CONFIG = "configs/sin2pi.yaml";
    /** sin2pi's 2-10-11-12-1 MLP. */
    static final int P = 308;

    @TempDir
    static Path shared;
    static Path run;

    @BeforeAll
    static void train() {
        run = shared.resolve("run");
        CliRunner cli = new CliRunner();
        int code = cli.run("train", "--config", CONFIG, "--out", run.toString(), "--set", "train.epochs=3",
                "--set", "data.samples=40", "--set", "data.validation=0.25");
        assertEquals(0, code, cli.err());
    }

    static long[] shape(Path npy) throws IOException {
        return Npy.read(npy).shape();
    }

    static void assertCleanError(CliRunner cli, int code, String... fragments) {
        assertEquals(ExitCodes.USAGE, code, cli.err());
        String err = cli.err();
        assertTrue(err.startsWith("error: "), err);
        for (String f : fragments) {
            assertTrue(err.contains(f), "'" + f + "' in: " + err);
        }
        assertFalse(err.contains("\tat "), "no stack trace: " + err);
        assertFalse(err.contains("Exception"), "no exception name: " + err);
    }

    @Test
    void inputHessiansOfARunAtCsvPointsGoIntoTheRun() throws IOException {
        Path points = shared.resolve("points.csv");
        Files.writeString(points, "x1,x2\n0.1,0.2\n-0.5,0.25\n0.9,-0.9\n");
        CliRunner cli = new CliRunner();
        int code = cli.run("inspect-hessian", "--run", run.toString(), "--wrt", "input", "--points", points.toString());
        assertEquals(0, code, cli.err());
        Path inspect = run.resolve("inspect");
        Path dir;
        try (Stream<Path> s = Files.list(inspect)) {
            dir = s.filter(p -> p.getFileName().toString().startsWith("input-output-")).findFirst().orElseThrow();
        }
        assertArrayEquals(new long[] {3, 1, 2, 2}, shape(dir.resolve("hessian.npy")));
        assertTrue(Files.isRegularFile(dir.resolve("hessian.png")));
        assertTrue(Files.isRegularFile(dir.resolve("summary.json")));
        assertTrue(cli.out().contains("output directory"), cli.out());
        assertTrue(cli.out().contains(dir.toString()), cli.out());
        double[] h = Npy.read(dir.resolve("hessian.npy")).values();
        for (int s = 0; s < 3; s++) {
            assertEquals(h[s * 4 + 1], h[s * 4 + 2], 1e-12, "symmetric");
        }
    }

    @Test
    void parameterHessianOfARunAsJson() throws IOException {
        Path out = shared.resolve("params");
        CliRunner cli = new CliRunner();
        int code = cli.run("inspect-hessian", "--run", run.toString(), "--wrt", "params", "--of", "loss",
                "--quantity", "full,diag,rowsum,trace,eigs", "--k", "4", "--probes", "20", "--out", out.toString(), "--json");
        assertEquals(0, code, cli.err());
        JsonNode printed = Json.mapper().readTree(cli.out());
        JsonNode written = Json.readTree(out.resolve("summary.json"));
        assertEquals(written, printed);
        assertEquals(P, written.get("dimension").asInt());
        assertArrayEquals(new long[] {P, P}, shape(out.resolve("hessian.npy")));
        assertEquals("<f4", Npy.read(out.resolve("hessian.npy")).descr());
        assertArrayEquals(new long[] {P}, shape(out.resolve("diag.npy")));
        assertArrayEquals(new long[] {P}, shape(out.resolve("rowsum.npy")));
        assertArrayEquals(new long[] {4}, shape(out.resolve("eigenvalues.npy")));
        JsonNode layout = Json.readTree(out.resolve("layout.json"));
        assertEquals("0.weight", layout.get("blocks").get(0).get("name").asText());
        assertEquals("6.bias", layout.get("blocks").get(7).get("name").asText());
        assertEquals(P - 1, layout.get("blocks").get(7).get("offset").asInt());
        for (String q : List.of("full", "diag", "rowsum", "trace", "eigs")) {
            assertTrue(written.get("quantities").has(q), q);
        }
    }

    @Test
    void aSpecIsInitialisedAsTrainDoesAndGoesUnderRuns() throws IOException {
        CliRunner cli = new CliRunner();
        Path root = shared.resolve("runs-root");
        int code = cli.run("inspect-hessian", "--config", CONFIG, "--set", "data.samples=20", "--wrt", "params",
                "--quantity", "rowsum", "--runs", root.toString());
        assertEquals(0, code, cli.err());
        try (Stream<Path> s = Files.list(root)) {
            Path dir = s.findFirst().orElseThrow();
            assertTrue(dir.getFileName().toString().startsWith("inspect-sin2pi-"), dir.toString());
            assertArrayEquals(new long[] {P}, shape(dir.resolve("rowsum.npy")));
        }
        // the run's weights, loaded from its safetensors, give its own Hessian: not the spec's initial one
        CliRunner a = new CliRunner();
        assertEquals(0, a.run("inspect-hessian", "--config", CONFIG, "--set", "train.epochs=3", "--set", "data.samples=40",
                "--set", "data.validation=0.25", "--weights", run.resolve("model.safetensors").toString(),
                "--quantity", "rowsum", "--out", shared.resolve("w").toString()), a.err());
        CliRunner b = new CliRunner();
        assertEquals(0, b.run("inspect-hessian", "--run", run.toString(), "--quantity", "rowsum", "--out",
                shared.resolve("r").toString()), b.err());
        assertArrayEquals(Npy.read(shared.resolve("r/rowsum.npy")).values(),
                Npy.read(shared.resolve("w/rowsum.npy")).values(), 1e-6);
    }

    @Test
    void theDefaultForParametersIsTheDiagonalAndTraceNotTheFullMatrix() throws IOException {
        // issue 10: the default was --wrt params --quantity full (2.2 GB for conv12)
        CliRunner cli = new CliRunner();
        Path out = shared.resolve("defaults");
        assertEquals(0, cli.run("inspect-hessian", "--run", run.toString(), "--wrt", "PARAMS", "--of", "Loss", "--out",
                out.toString(), "--json"), cli.err());
        JsonNode s = Json.readTree(out.resolve("summary.json"));
        assertEquals(List.of("diag", "trace"), List.copyOf(iterable(s.get("quantities").fieldNames())));
        assertEquals("params", s.get("wrt").asText());
        assertEquals("loss", s.get("of").asText());
        assertFalse(Files.exists(out.resolve("hessian.npy")));
        assertEquals("exact", s.get("trace_method").asText(), "the diagonal was computed, so the exact trace is free");
        CliRunner bad = new CliRunner();
        assertCleanError(bad, bad.run("inspect-hessian", "--run", run.toString(), "--wrt", "inputs"),
                "--wrt: unknown value 'inputs'; expected one of input, params");
        CliRunner badOf = new CliRunner();
        assertCleanError(badOf, badOf.run("inspect-hessian", "--run", run.toString(), "--of", "gradient"),
                "--of: unknown value 'gradient'; expected one of output, loss");
    }

    static List<String> iterable(java.util.Iterator<String> it) {
        List<String> l = new java.util.ArrayList<>();
        it.forEachRemaining(l::add);
        return l;
    }

    /** Issue 20: --curvature and its options, as a user types them: the Fisher's files, and every misuse exit 2. */
    @Test
    void curvatureChoicesThroughTheCommandLine(@TempDir Path tmp) throws IOException {
        CliRunner fisher = new CliRunner();
        Path out = tmp.resolve("fisher");
        int code = fisher.run("inspect-hessian", "--run", run.toString(), "--curvature", "FISHER", "--samples-per-point",
                "3", "--quantity", "diag,trace,eigs", "--k", "2", "--out", out.toString(), "--json");
        assertEquals(0, code, fisher.err());
        JsonNode s = Json.readTree(out.resolve("summary.json"));
        assertEquals("fisher", s.get("curvature").asText());
        assertEquals(P, Npy.read(out.resolve("diag.npy")).size());
        assertTrue(s.get("quantities").get("eigs").get("method").asText().contains("3 sampled label(s) per point"));
        assertTrue(s.get("lambda_min").asDouble() > -1e-6, "a Fisher is positive semi-definite");
        CliRunner bad = new CliRunner();
        assertCleanError(bad, bad.run("inspect-hessian", "--run", run.toString(), "--curvature", "newton"),
                "--curvature", "hessian, ggn, fisher");
        CliRunner samples = new CliRunner();
        assertCleanError(samples, samples.run("inspect-hessian", "--run", run.toString(), "--samples-per-point", "2"),
                "--samples-per-point is only used by --curvature fisher");
        CliRunner input = new CliRunner();
        assertCleanError(input, input.run("inspect-hessian", "--run", run.toString(), "--wrt", "input", "--curvature",
                "ggn"), "--curvature ggn applies to --wrt params --of loss only");
        CliRunner method = new CliRunner();
        assertCleanError(method, method.run("inspect-hessian", "--run", run.toString(), "--method", "exact"),
                "--method", "backprop, rows");
    }

    @Test
    void mismatchedWeightsListEveryMismatch() throws IOException {
        Path other = shared.resolve("other");
        CliRunner t = new CliRunner();
        assertEquals(0, t.run("train", "--config", CONFIG, "--out", other.toString(), "--set", "train.epochs=1",
                "--set", "data.samples=20", "--set", "model.layers[0].units=4"), t.err());
        CliRunner cli = new CliRunner();
        int code = cli.run("inspect-hessian", "--config", CONFIG, "--weights", other.resolve("model.safetensors").toString(),
                "--quantity", "diag", "--out", shared.resolve("never").toString());
        assertCleanError(cli, code, "do not match the model", "0.weight has shape (4, 2)", "0.bias has shape (4)",
                "2.weight has shape (11, 4)");
        assertFalse(Files.exists(shared.resolve("never")), "nothing is created");
    }

    @Test
    void aFullHessianThatCannotFitIsRefusedBeforeAnythingIsWritten(@TempDir Path tmp) throws IOException {
        // 1,333,333 parameters: a 7 TB full Hessian, and a 1.07 TB Lanczos basis with --steps 100000
        Path spec = tmp.resolve("wide.yaml");
        Files.writeString(spec, """
                name: wide
                device: cpu
                data: {generator: "x1 + x2", inputs: 2, samples: 4, validation: 0}
                model:
                  layers:
                    - {type: linear, units: 333333}
                    - {type: tanh}
                    - {type: linear, units: 1}
                """);
        CliRunner disk = new CliRunner();
        assertCleanError(disk, disk.run("inspect-hessian", "--config", spec.toString(), "--quantity", "full",
                "--out", tmp.resolve("out").toString()), "the full Hessian (1333333 x 1333333 float32) needs 7.11 TB on disk",
                "diag, trace, eigs or hvp");
        CliRunner memory = new CliRunner(); // the Lanczos basis is held by the engine: the machine's memory
        assertCleanError(memory, memory.run("inspect-hessian", "--config", spec.toString(), "--quantity", "eigs", "--steps",
                "100000", "--out", tmp.resolve("out").toString()), "a Lanczos basis of 100001 vectors of 1333333 float64 "
                + "on the engine) needs 1.07 TB of memory", "fewer --steps", "diag, trace, eigs or hvp");
        assertFalse(Files.exists(tmp.resolve("out")), "nothing is created");
    }

    @Test
    void badUsageExitsWithTwoAndAClearMessage(@TempDir Path tmp) throws IOException {
        CliRunner missing = new CliRunner();
        assertCleanError(missing, missing.run("inspect-hessian", "--run", tmp.resolve("nope").toString()),
                "no run directory at");

        CliRunner unknown = new CliRunner();
        assertCleanError(unknown, unknown.run("inspect-hessian", "--run", run.toString(), "--quantity", "full,spectrum"),
                "unknown quantity 'spectrum'", "full, diag, rowsum, hvp, trace, eigs, density");

        Path vector = tmp.resolve("v.npy");
        Npy.write(vector, new double[] {1, 2, 3}, new long[] {3});
        CliRunner wrongVector = new CliRunner();
        assertCleanError(wrongVector, wrongVector.run("inspect-hessian", "--run", run.toString(), "--quantity", "hvp",
                "--vector", vector.toString(), "--out", tmp.resolve("o").toString()), "--vector", "expected [" + P + "]");

        Path wide = tmp.resolve("wide.csv");
        Files.writeString(wide, "x1,x2,x3,x4\n1,2,3,4\n");
        CliRunner wrongWidth = new CliRunner();
        assertCleanError(wrongWidth, wrongWidth.run("inspect-hessian", "--run", run.toString(), "--wrt", "input",
                "--points", wide.toString(), "--out", tmp.resolve("o").toString()), "points of wrong width", "4 columns",
                "2 inputs");

        Path npy = tmp.resolve("x.npy");
        Npy.write(npy, new double[] {1, 2, 3, 4, 5, 6}, new long[] {2, 3});
        CliRunner wrongNpy = new CliRunner();
        assertCleanError(wrongNpy, wrongNpy.run("inspect-hessian", "--run", run.toString(), "--wrt", "input",
                "--points", npy.toString()), "points of wrong width", "[2, 3]");

        CliRunner both = new CliRunner();
        assertCleanError(both, both.run("inspect-hessian", "--run", run.toString(), "--config", CONFIG),
                "exactly one of --run DIR and --config SPEC");

        CliRunner rows = new CliRunner();
        assertCleanError(rows, rows.run("inspect-hessian", "--run", run.toString(), "--wrt", "input", "--rows", "3"),
                "--rows applies to --wrt params --quantity full");
        assertFalse(Files.exists(tmp.resolve("o")), "nothing is created");
    }
}
