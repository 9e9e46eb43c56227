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

/**
 * hesstrain sweep in its own JVM: a second sweep into its directory while it runs fails at once
 * with exit 2 (the members are claimed with an OS lock, as train's run directory is), and Ctrl-C
 * stops the whole sweep cleanly with exit 130.
 */
class SweepLauncherIT {
    /**
     * Issue 21, defect 1: a sweep held each member's train.log and .lock open for its whole life
     * (two descriptors a member), and one of a few hundred members died of "Too many open files".
     * Here 200 one-epoch members (one stacked program) under {@code ulimit -n 128}, where the JVM
     * itself takes about 50: before the fix it failed at the 80th member's claim with exit 2.
     */
    @Test
    void twoHundredMembersTrainUnderALimitOf128OpenFiles(@TempDir Path tmp) throws Exception {
        Path spec = tmp.resolve("tiny.yaml");
        Files.writeString(spec, TrainFaultsIT.TINY.replace("epochs: 10000000", "epochs: 1"));
        Path out = tmp.resolve("sweep");
        Path log = tmp.resolve("log");
        String cmd = "ulimit -n 128 && exec java -jar " + LauncherIT.JAR + " sweep --config " + spec + " --grid seed=0..199 --out "
                + out;
        Process p = new ProcessBuilder("bash", "-c", cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the sweep did not end within 300 s");
        String text = Files.readString(log);
        assertEquals(0, p.exitValue(), text);
        assertTrue(text.contains("200 members: 200 completed"), text);
        List<String> csv = Files.readAllLines(out.resolve("sweep.csv"));
        assertEquals(201, csv.size());
        for (String m : List.of("000-seed=0", "123-seed=123", "199-seed=199")) {
            List<String> lines = Files.readAllLines(out.resolve("members").resolve(m).resolve("train.log"));
            assertTrue(lines.stream().anyMatch(l -> l.contains("TrainJob - epoch 1: train_mse")), m + ": " + lines);
            assertTrue(lines.get(lines.size() - 1).contains("run stopped: completed"), m + ": " + lines);
        }
    }

    @Test
    void ctrlCStopsTheSweepCheckpointedAndRecordsIt(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("sweep");
        String[] args = {"sweep", "--config", "configs/sin2pi.yaml", "--set", "train.epochs=1000000", "--set",
            "train.checkpoint_every=20", "--grid", "penalty.lambda=0,1e-3,1e-2", "--out", out.toString()};
        Process p = LauncherIT.start(tmp.resolve("log"), args);
        Path metrics = out.resolve("members/000-lambda=0/metrics.csv");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        // a checkpoint after the initial one (metrics.csv is written with the weights)
        while (!(Files.exists(metrics) && Files.readAllLines(metrics).size() > 2)) {
            assertTrue(System.nanoTime() < deadline, "no checkpoint within 120 s");
            assertTrue(p.isAlive(), Files.readString(tmp.resolve("log")));
            Thread.sleep(100);
        }
        // the same sweep again, from this JVM, while the first runs: refused, naming the process
        CliRunner second = new CliRunner();
        assertEquals(ExitCodes.USAGE, second.run(args), second.err());
        List<String> lines = second.err().strip().lines().toList();
        assertEquals("error: member 000-lambda=0: " + out.resolve("members/000-lambda=0") + " is in use by another "
                + "hesstrain process (pid " + p.pid() + "); give another --out, or wait until it ends",
                lines.get(lines.size() - 1), second.err());
        // train --resume of a member the sweep trains: refused too (the sweep's one member-lock file)
        CliRunner train = new CliRunner();
        assertEquals(ExitCodes.USAGE, train.run("train", "--resume", out.resolve("members/001-lambda=1e-3").toString()),
                train.err());
        assertTrue(train.err().contains(out.resolve("members/001-lambda=1e-3") + " is in use by another hesstrain process (pid "
                + p.pid() + ")"), train.err());
        assertTrue(p.isAlive(), "the first sweep goes on");
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the sweep did not stop after SIGINT");
        String log = Files.readString(tmp.resolve("log"));
        assertEquals(130, p.exitValue(), log);
        // the three members train as one stacked program: all stop, each checkpointed
        for (String m : List.of("000-lambda=0", "001-lambda=1e-3", "002-lambda=1e-2")) {
            JsonNode s = Json.readTree(out.resolve("members").resolve(m).resolve("summary.json"));
            assertEquals("interrupted", s.get("stopped").asText(), m);
            assertEquals(s.get("epochs_run").asInt(), s.get("checkpoint_epoch").asInt(), m + " checkpointed when stopped");
            assertEquals(s.get("epochs_run").asInt() + 1, Files.readAllLines(out.resolve("members").resolve(m)
                    .resolve("metrics.csv")).size(), m);
        }
        List<String> csv = Files.readAllLines(out.resolve("sweep.csv"));
        assertEquals(4, csv.size(), String.join("\n", csv));
        for (String row : csv.subList(1, 4)) {
            assertTrue(row.contains(",interrupted,"), row);
        }
        assertTrue(log.contains("3 members: 3 interrupted"), log);
    }
}
