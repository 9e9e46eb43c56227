package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 10, defects 1, 2 and 9, through the packaged tool: two runs on one --out (the second
 * fails at once with exit 2 and the first is untouched), a reused --out refused unless
 * --overwrite, a fresh train.log after --overwrite, and SIGTERM recorded by name.
 */
class RunDirectoryIT {
    @Test
    void oneRunPerDirectory(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("shared");
        Process a = LauncherIT.start(tmp.resolve("a.log"), "train", "--config", "configs/sin2pi.yaml", "--set",
                "train.epochs=1000000", "--out", dir.toString());
        Path trainLog = dir.resolve("train.log");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!(Files.exists(trainLog) && Files.readString(trainLog).contains("checkpoint at epoch 0"))) {
            assertTrue(System.nanoTime() < deadline, "the first run did not start within 120 s");
            assertTrue(a.isAlive(), Files.readString(tmp.resolve("a.log")));
            Thread.sleep(100);
        }
        String specBefore = Files.readString(dir.resolve("spec.yaml"));

        // defect 1: a second run on the same directory fails at once, exit 2, and changes nothing
        Process b = LauncherIT.start(tmp.resolve("b.log"), "train", "--config", "configs/quadratic.yaml", "--set",
                "train.epochs=400", "--out", dir.toString());
        assertTrue(b.waitFor(120, TimeUnit.SECONDS));
        String bLog = Files.readString(tmp.resolve("b.log"));
        assertEquals(2, b.exitValue(), bLog);
        assertEquals("error: " + dir + " is in use by another hesstrain process (pid " + a.pid()
                + "); give another --out, or wait until it ends", bLog.strip());
        assertTrue(a.isAlive(), "the first run goes on");
        assertEquals(specBefore, Files.readString(dir.resolve("spec.yaml")));

        // defect 9: SIGTERM is recorded as SIGTERM
        new ProcessBuilder("kill", "-TERM", Long.toString(a.pid())).start().waitFor();
        assertTrue(a.waitFor(120, TimeUnit.SECONDS), "the run did not stop after SIGTERM");
        assertEquals(130, a.exitValue(), Files.readString(tmp.resolve("a.log")));
        JsonNode s = new ObjectMapper().readTree(dir.resolve("summary.json").toFile());
        assertEquals("interrupted", s.get("stopped").asText());
        assertEquals("interrupted by a signal (SIGTERM)", s.get("stop_reason").asText());
        assertTrue(Files.readString(trainLog).contains("SIGTERM"), "train.log names the signal");

        // defect 2: the finished run's directory is not reused silently
        Files.createDirectories(dir.resolve("inspect/params-loss"));
        Process c = LauncherIT.start(tmp.resolve("c.log"), "train", "--config", "configs/sin2pi.yaml", "--set",
                "train.epochs=2", "--out", dir.toString());
        assertTrue(c.waitFor(120, TimeUnit.SECONDS));
        String cLog = Files.readString(tmp.resolve("c.log"));
        assertEquals(2, c.exitValue(), cLog);
        assertTrue(cLog.startsWith("error: the output directory " + dir + " is not empty (it holds checkpoint.safetensors, data.npz, "), cLog);
        assertTrue(cLog.strip().endsWith("give --overwrite to replace its contents, or choose another --out"), cLog);
        assertEquals("interrupted", new ObjectMapper().readTree(dir.resolve("summary.json").toFile())
                .get("stopped").asText(), "the old run is intact");

        Process d = LauncherIT.start(tmp.resolve("d.log"), "train", "--config", "configs/sin2pi.yaml", "--set",
                "train.epochs=2", "--out", dir.toString(), "--overwrite");
        assertTrue(d.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, d.exitValue(), Files.readString(tmp.resolve("d.log")));
        assertEquals("completed", new ObjectMapper().readTree(dir.resolve("summary.json").toFile())
                .get("stopped").asText());
        assertFalse(Files.exists(dir.resolve("inspect")), "the old run's inspections went with it");
        String log = Files.readString(trainLog);
        assertFalse(log.contains("SIGTERM"), "train.log is the new run's alone: " + log);
        assertEquals(1, log.lines().filter(l -> l.contains("checkpoint at epoch 0")).count(), log);
    }
}
