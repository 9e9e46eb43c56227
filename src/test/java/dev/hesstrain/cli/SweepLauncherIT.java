package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hesstrain.runs.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** hesstrain sweep in its own JVM: Ctrl-C stops the whole sweep cleanly with exit 130. */
class SweepLauncherIT {
    @Test
    void ctrlCStopsTheSweepCheckpointedAndRecordsIt(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("sweep");
        Process p = LauncherIT.start(tmp.resolve("log"), "sweep", "--config", "configs/sin2pi.yaml", "--set",
                "train.epochs=1000000", "--set", "train.checkpoint_every=20", "--grid", "penalty.lambda=0,1e-3,1e-2",
                "--out", out.toString());
        Path trainLog = out.resolve("members/000-lambda=0/train.log");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        java.util.regex.Pattern later = java.util.regex.Pattern.compile("checkpoint at epoch [1-9]");
        while (!(Files.exists(trainLog) && later.matcher(Files.readString(trainLog)).find())) {
            assertTrue(System.nanoTime() < deadline, "no checkpoint within 120 s");
            assertTrue(p.isAlive(), Files.readString(tmp.resolve("log")));
            Thread.sleep(100);
        }
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the sweep did not stop after SIGINT");
        String log = Files.readString(tmp.resolve("log"));
        assertEquals(130, p.exitValue(), log);
        JsonNode s = Json.readTree(out.resolve("members/000-lambda=0/summary.json"));
        assertEquals("interrupted", s.get("stopped").asText());
        assertEquals(s.get("epochs_run").asInt(), s.get("checkpoint_epoch").asInt(), "checkpointed when stopped");
        List<String> csv = Files.readAllLines(out.resolve("sweep.csv"));
        assertEquals(4, csv.size(), String.join("\n", csv));
        assertTrue(csv.get(1).contains(",interrupted,"), csv.get(1));
        assertTrue(csv.get(2).contains(",pending,") && csv.get(3).contains(",pending,"), String.join("\n", csv));
        assertTrue(log.contains("3 members: 1 interrupted, 2 pending"), log);
    }
}
