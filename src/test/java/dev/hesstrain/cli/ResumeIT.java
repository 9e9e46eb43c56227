package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train --resume} through the packaged jar: a run stopped by a scheduler's SIGTERM part way,
 * or killed with SIGKILL, and resumed ends with the metrics.csv of a run that was never stopped.
 */
class ResumeIT {
    /** sin2pi in minibatches of 64 (7 steps an epoch), SGD with momentum: long enough to be stopped part way. */
    static final String[] SPEC = {"--config", "configs/sin2pi.yaml", "--set", "train.epochs=1500", "--set",
        "train.batch_size=64", "--set", "train.optimizer=sgd", "--set", "train.momentum=0.9", "--set", "train.lr=0.02"};

    static Process train(Path log, Path out, String... more) throws Exception {
        List<String> args = new ArrayList<>(List.of("train"));
        args.addAll(List.of(SPEC));
        args.addAll(List.of("--out", out.toString()));
        args.addAll(List.of(more));
        return LauncherIT.start(log, args.toArray(String[]::new));
    }

    /** Each metrics.csv line without its last field (the seconds). */
    static List<String> withoutSeconds(Path run) throws Exception {
        return Files.readAllLines(run.resolve("metrics.csv")).stream().map(l -> l.substring(0, l.lastIndexOf(','))).toList();
    }

    /** Starts the run into {@code dir} and waits for a checkpoint after the initial one. */
    static Process startAndCheckpoint(Path tmp, Path dir, String log) throws Exception {
        Process p = train(tmp.resolve(log), dir);
        Path trainLog = dir.resolve("train.log");
        Pattern later = Pattern.compile("checkpoint at epoch [1-9]");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!(Files.exists(trainLog) && later.matcher(Files.readString(trainLog)).find())) {
            assertTrue(p.isAlive(), "ended before a checkpoint: " + Files.readString(tmp.resolve(log)));
            assertTrue(System.nanoTime() < deadline, "no checkpoint within 120 s");
            Thread.sleep(50);
        }
        assertTrue(p.isAlive(), "the run finished before the signal");
        return p;
    }

    @Test
    void aRunStoppedBySigtermOrKilledAndResumedEqualsAnUninterruptedOne(@TempDir Path tmp) throws Exception {
        // killed: kill -9 leaves no summary, and whatever the last checkpoint had written
        Path killed = tmp.resolve("killed");
        Process k = startAndCheckpoint(tmp, killed, "log0");
        Thread.sleep(700); // past the checkpoint, into the epochs after it
        new ProcessBuilder("kill", "-KILL", Long.toString(k.pid())).start().waitFor();
        assertTrue(k.waitFor(60, TimeUnit.SECONDS));
        assertTrue(!Files.exists(killed.resolve("summary.json")), "a killed run writes no summary");
        Process rk = LauncherIT.start(tmp.resolve("log0r"), "train", "--resume", killed.toString());
        assertTrue(rk.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, rk.exitValue(), Files.readString(tmp.resolve("log0r")));

        Path cut = tmp.resolve("cut");
        Path trainLog = cut.resolve("train.log");
        Process p = startAndCheckpoint(tmp, cut, "log1");
        new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(130, p.exitValue(), Files.readString(tmp.resolve("log1")));
        JsonNode stopped = new ObjectMapper().readTree(cut.resolve("summary.json").toFile());
        int at = stopped.get("epochs_run").asInt();
        assertTrue(at < 1500, "stopped at epoch " + at);

        Process r = LauncherIT.start(tmp.resolve("log2"), "train", "--resume", cut.toString());
        assertTrue(r.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, r.exitValue(), Files.readString(tmp.resolve("log2")));

        Path whole = tmp.resolve("whole");
        Process w = train(tmp.resolve("log3"), whole);
        assertTrue(w.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, w.exitValue(), Files.readString(tmp.resolve("log3")));

        List<String> expected = withoutSeconds(whole);
        List<String> actual = withoutSeconds(cut);
        assertEquals(1501, expected.size());
        List<String> afterKill = withoutSeconds(killed);
        for (int i = 0; i < expected.size(); i++) { // the same steps in the same order: the same digits
            assertEquals(expected.get(i), actual.get(i), "metrics.csv line " + (i + 1) + " (stopped after epoch " + at + ")");
            assertEquals(expected.get(i), afterKill.get(i), "metrics.csv line " + (i + 1) + " of the killed run");
        }
        JsonNode a = new ObjectMapper().readTree(whole.resolve("summary.json").toFile());
        JsonNode b = new ObjectMapper().readTree(cut.resolve("summary.json").toFile());
        assertEquals(a.get("train_mse").asDouble(), b.get("train_mse").asDouble(), 0);
        assertEquals(a.get("steps").asLong(), b.get("steps").asLong());
        assertEquals("completed", b.get("stopped").asText());
        assertTrue(b.get("resumed_after_epoch").asInt() <= at);
        String log = Files.readString(trainLog);
        assertTrue(log.contains("interrupted by a signal (SIGTERM)") && log.contains("resumed from the checkpoint of epoch"),
                log);
    }
}
