package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training's faults through the packaged jar, as {@link LauncherIT} drives it: a scheduler's
 * SIGTERM after a long run (the summary must be written before its kill follows, 10 s later), a
 * double Ctrl-C, and a disk that fills up while the run checkpoints.
 */
class TrainFaultsIT {
    /** One input, four tanh units, eight samples and no validation set: about 0.3 ms an epoch. */
    static final String TINY = """
            name: tiny
            seed: 0
            dtype: float32
            device: cpu
            data: {generator: "sin(x1)", inputs: 1, samples: 8, validation: 0}
            model:
              layers:
                - {type: linear, units: 4}
                - {type: tanh}
                - {type: linear, units: 1}
            loss: mse
            penalty: {lambda: 1.0e-3}
            train: {optimizer: adam, lr: 0.01, epochs: 10000000}
            """;
    static final Pattern EPOCH = Pattern.compile("epoch (\\d+): train_mse");

    /** The last epoch train.log reports, from its last few kB (the file has a line per epoch). */
    static int lastEpoch(Path trainLog) throws IOException {
        if (!Files.exists(trainLog)) {
            return 0;
        }
        try (RandomAccessFile f = new RandomAccessFile(trainLog.toFile(), "r")) {
            long from = Math.max(0, f.length() - 4096);
            byte[] tail = new byte[(int) (f.length() - from)];
            f.seek(from);
            f.readFully(tail);
            Matcher m = EPOCH.matcher(new String(tail, StandardCharsets.UTF_8));
            int last = 0;
            while (m.find()) {
                last = Integer.parseInt(m.group(1));
            }
            return last;
        }
    }

    static Process tinyRun(Path tmp, Path run, Path log) throws IOException {
        Path spec = tmp.resolve("tiny.yaml");
        Files.writeString(spec, TINY);
        return LauncherIT.start(log, "train", "--config", spec.toString(), "--out", run.toString());
    }

    static void waitForEpoch(Process p, Path run, Path log, int epoch, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (lastEpoch(run.resolve("train.log")) < epoch) {
            assertTrue(p.isAlive(), "ended early: " + Files.readString(log));
            assertTrue(System.nanoTime() < deadline, "not at epoch " + epoch + " within " + seconds + " s");
            Thread.sleep(200);
        }
    }

    @Test
    void sigtermAfter100kEpochsWritesTheSummaryWithinFiveSeconds(@TempDir Path tmp) throws Exception {
        // issue 10, 5: SIGTERM after 356k epochs took 3 min 42 s to exit (the plots), so a scheduler's kill lost the summary
        Path run = tmp.resolve("run");
        Path log = tmp.resolve("log");
        Process p = tinyRun(tmp, run, log);
        waitForEpoch(p, run, log, 100_000, 600);
        long signalled = System.nanoTime();
        new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).start().waitFor();
        Path summary = run.resolve("summary.json");
        while (!Files.exists(summary)) {
            assertTrue(System.nanoTime() - signalled < TimeUnit.SECONDS.toNanos(5),
                    "no summary.json within 5 s of SIGTERM: " + Files.readString(log));
            Thread.sleep(10);
        }
        double seconds = (System.nanoTime() - signalled) / 1e9;
        System.out.printf("TrainFaultsIT: summary.json %.2f s after SIGTERM%n", seconds);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        double exited = (System.nanoTime() - signalled) / 1e9;
        System.out.printf("TrainFaultsIT: exited %.2f s after SIGTERM%n", exited);
        assertEquals(130, p.exitValue(), Files.readString(log));
        JsonNode s = new ObjectMapper().readTree(summary.toFile());
        assertEquals("interrupted", s.get("stopped").asText());
        assertEquals("interrupted by a signal (SIGTERM)", s.get("stop_reason").asText());
        int epochs = s.get("epochs_run").asInt();
        assertTrue(epochs >= 100_000, "epochs run: " + epochs);
        assertEquals(epochs, s.get("checkpoint_epoch").asInt());
        assertTrue(Files.size(run.resolve("loss.png")) > 0 && Files.size(run.resolve("hessian.png")) > 0);
        assertEquals(List.of(), InspectFaultsIT.hidden(run));
    }

    @Test
    void aDoubleCtrlCLeavesNoTemporaryFile(@TempDir Path tmp) throws Exception {
        // issue 10, 5: a double Ctrl-C left a 0-byte .loss.png.tmp-*
        Path run = tmp.resolve("run");
        Path log = tmp.resolve("log");
        Process p = tinyRun(tmp, run, log);
        waitForEpoch(p, run, log, 20_000, 300);
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        // the second Ctrl-C while a file is being written, if the poll catches one, else once the summary is there
        boolean caught = false;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (p.isAlive() && System.nanoTime() < deadline) {
            if (InspectFaultsIT.hidden(run).stream().anyMatch(f -> f.getFileName().toString().contains(".tmp-"))) {
                caught = true;
                break;
            }
            if (Files.exists(run.resolve("summary.json")) && !Files.exists(run.resolve("loss.png"))) {
                break;
            }
            Thread.sleep(1);
        }
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        System.out.println("TrainFaultsIT: the second SIGINT came " + (caught ? "while a temporary file existed"
                : "after the summary, with no temporary file seen"));
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(130, p.exitValue(), Files.readString(log));
        assertEquals(List.of(), InspectFaultsIT.hidden(run),
                "no temporary files are left");
        String text = Files.readString(log);
        assertFalse(text.contains("Exception"), text);
    }

    @Test
    void aDiskThatFillsUpDuringTrainingGivesOneMessageNamingTheKeptCheckpoint(@TempDir Path tmp) throws Exception {
        // issue 10, 6: training printed a raw java.io.IOException, no summary and no word about the kept checkpoint
        Path mount = tmp.resolve("small");
        Files.createDirectories(mount);
        Process m = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mount.toString())
                .redirectErrorStream(true).start();
        String why = new String(m.getInputStream().readAllBytes()).trim();
        if (m.waitFor() != 0) {
            System.out.println("TrainFaultsIT: disk-full test skipped: mounting a tmpfs is not permitted here (" + why + ")");
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "mounting a tmpfs is not permitted: " + why);
        }
        try {
            // room for the first files and a few checkpoints; metrics.csv and train.log then fill the rest
            long free = Files.getFileStore(mount).getUsableSpace();
            Files.write(mount.resolve("filler"), new byte[(int) (free - 300_000)]);
            Path run = mount.resolve("run");
            Path log = tmp.resolve("log");
            Process p = LauncherIT.start(log, "train", "--config", "configs/sin2pi.yaml", "--set", "train.epochs=1000000",
                    "--set", "train.checkpoint_every=1", "--out", run.toString());
            assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the run did not end on a full disk");
            String text = Files.readString(log);
            System.out.println("TrainFaultsIT: on a full disk: " + text.strip());
            assertEquals(1, p.exitValue(), text);
            Matcher kept = Pattern.compile("error: could not write .* into " + Pattern.quote(run.toString())
                    + ": No space left on device; the checkpoint of epoch (\\d+) is kept there \\(continue with train "
                    + "--resume " + Pattern.quote(run.toString()) + " once there is room\\)").matcher(text);
            assertTrue(kept.find(), text);
            assertFalse(text.contains("Exception"), text);
            assertFalse(text.contains("\tat "), text);
            assertEquals(1, text.lines().filter(l -> l.startsWith("error:")).count(), text);
            int epoch = Integer.parseInt(kept.group(1));
            assertTrue(epoch > 0, text);
            assertEquals(List.of(), InspectFaultsIT.hidden(run),
                    "no temporary files are left");
            // the kept checkpoint is whole: its metrics rows are there
            assertTrue(Files.readAllLines(run.resolve("metrics.csv")).size() > epoch);
        } finally {
            new ProcessBuilder("umount", mount.toString()).start().waitFor();
        }
    }
}
