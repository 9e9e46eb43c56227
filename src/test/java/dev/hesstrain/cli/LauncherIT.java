package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged tool in its own JVM, as a user runs it: exit codes, files, and Ctrl-C (SIGINT)
 * stopping a long run cleanly with its checkpoint and summary.
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
        while (!(Files.exists(trainLog) && Files.readString(trainLog).contains("checkpoint at epoch 20"))) {
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
