package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hesstrain.runs.Npy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged tool in its own JVM, as a user runs it: a smoke run of train and of
 * inspect-hessian (a trained run's input Hessians; conv12's diag, rowsum and trace), exit codes,
 * and Ctrl-C (SIGINT) stopping a long run cleanly with its checkpoint and summary.
 */
class LauncherIT {
    static final Path JAR = Path.of("target/hesstrain.jar");

    static Process start(Path log, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("java", "-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    @Test
    void trainsTheShippedConfig(@TempDir Path tmp) throws Exception {
        Path run = tmp.resolve("run");
        Process p = start(tmp.resolve("log"), "train", "--config", "configs/sin2pi.yaml", "--set", "train.epochs=3",
                "--out", run.toString());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        String log = Files.readString(tmp.resolve("log"));
        assertEquals(0, p.exitValue(), log);
        assertTrue(log.contains("hessian_fro_mean"), log);
        assertFalse(log.contains("Exception"), log);
        JsonNode s = new ObjectMapper().readTree(run.resolve("summary.json").toFile());
        assertEquals("completed", s.get("stopped").asText());
    }

    @Test
    void inspectsASmokeRunAndConv12(@TempDir Path tmp) throws Exception {
        Path run = tmp.resolve("run");
        Process p = start(tmp.resolve("log"), "train", "--config", "configs/sin2pi.yaml", "--set", "train.epochs=3",
                "--out", run.toString());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("log")));

        Path input = tmp.resolve("input");
        p = start(tmp.resolve("log1"), "inspect-hessian", "--run", run.toString(), "--wrt", "input",
                "--quantity", "full,diag,trace", "--out", input.toString());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("log1")));
        Npy.Array h = Npy.read(input.resolve("hessian.npy"));
        assertArrayEquals(new long[] {400, 1, 2, 2}, h.shape());
        double[] v = h.values();
        for (int i = 0; i < v.length; i += 4) {
            assertEquals(v[i + 1], v[i + 2], 1e-12, "symmetric");
        }

        // conv12: 23,365 parameters, no full matrix in CI
        Path conv = tmp.resolve("conv12");
        p = start(tmp.resolve("log2"), "inspect-hessian", "--config", "configs/conv12.yaml", "--wrt", "params",
                "--quantity", "diag,rowsum,trace", "--out", conv.toString());
        assertTrue(p.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), Files.readString(tmp.resolve("log2")));
        double[] diag = Npy.read(conv.resolve("diag.npy")).values();
        assertEquals(23365, diag.length);
        assertEquals(23365, Npy.read(conv.resolve("rowsum.npy")).values().length);
        JsonNode s = new ObjectMapper().readTree(conv.resolve("summary.json").toFile());
        double sum = 0;
        for (double d : diag) {
            sum += d;
        }
        assertEquals(sum, s.get("trace").asDouble(), 1e-6 * Math.abs(sum), "trace = sum of the diagonal");
        JsonNode blocks = new ObjectMapper().readTree(conv.resolve("layout.json").toFile()).get("blocks");
        assertEquals(4, blocks.size());
        assertEquals("2.weight", blocks.get(2).get("name").asText());
        assertEquals(320, blocks.get(2).get("offset").asInt());
    }

    @Test
    void badSpecExitsWithTwo(@TempDir Path tmp) throws Exception {
        Process p = start(tmp.resolve("log"), "train", "--config", "no/such.yaml");
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue());
        assertEquals("error: no/such.yaml: no such file", Files.readString(tmp.resolve("log")).strip());
    }

    @Test
    void ctrlCStopsCleanlyAndKeepsTheCheckpoint(@TempDir Path tmp) throws Exception {
        Path run = tmp.resolve("run");
        Process p = start(tmp.resolve("log"), "train", "--config", "configs/sin2pi.yaml", "--set",
                "train.epochs=1000000", "--set", "train.checkpoint_every=20", "--out", run.toString());
        Path trainLog = run.resolve("train.log");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        // a checkpoint after the initial one (they are at least Trainer.MIN_CHECKPOINT_SECONDS apart)
        java.util.regex.Pattern later = java.util.regex.Pattern.compile("checkpoint at epoch [1-9]");
        while (!(Files.exists(trainLog) && later.matcher(Files.readString(trainLog)).find())) {
            assertTrue(System.nanoTime() < deadline, "no checkpoint within 90 s");
            assertTrue(p.isAlive(), Files.readString(tmp.resolve("log")));
            Thread.sleep(100);
        }
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the run did not stop after SIGINT");
        String log = Files.readString(tmp.resolve("log"));
        assertEquals(130, p.exitValue(), log);
        JsonNode s = new ObjectMapper().readTree(run.resolve("summary.json").toFile());
        assertEquals("interrupted", s.get("stopped").asText());
        int epochs = s.get("epochs_run").asInt();
        assertTrue(epochs >= 20 && epochs < 1000000, "epochs run: " + epochs);
        assertEquals(epochs, s.get("checkpoint_epoch").asInt(), "the interrupted epoch is checkpointed");
        assertEquals(epochs + 1, Files.readAllLines(run.resolve("metrics.csv")).size());
        assertTrue(Files.size(run.resolve("model.safetensors")) > 0);
    }
}
