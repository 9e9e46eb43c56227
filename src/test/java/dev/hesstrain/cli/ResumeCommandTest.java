package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hesstrain.runs.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code train --resume DIR} through the real command line: what it refuses, and a completed run. */
class ResumeCommandTest {
    static final String CONFIG = "configs/sin2pi.yaml";

    static Path completedRun(Path tmp) {
        Path run = tmp.resolve("run");
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run("train", "--config", CONFIG, "--out", run.toString(), "--set", "train.epochs=3"), cli.err());
        return run;
    }

    @Test
    void aCompletedRunHasNothingToDoUntilItsEpochsAreRaised(@TempDir Path tmp) throws IOException {
        Path run = completedRun(tmp);
        List<String> before = Files.readAllLines(run.resolve("metrics.csv"));
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run("train", "--resume", run.toString()), cli.err());
        assertTrue(cli.out().contains("nothing to do: the run in " + run + " completed its 3 epochs"), cli.out());
        assertEquals(before, Files.readAllLines(run.resolve("metrics.csv")), "nothing was touched");

        CliRunner more = new CliRunner();
        assertEquals(0, more.run("train", "--resume", run.toString(), "--set", "train.epochs=5"), more.err());
        List<String> after = Files.readAllLines(run.resolve("metrics.csv"));
        assertEquals(6, after.size(), "the header and 5 epochs");
        assertEquals(before, after.subList(0, 4), "the first three rows stay as they were");
        assertTrue(after.get(5).startsWith("5,"), after.get(5));
        JsonNode s = Json.readTree(run.resolve("summary.json"));
        assertEquals(5, s.get("epochs_run").asInt());
        assertEquals(5, s.get("steps").asInt());
        assertEquals(3, s.get("resumed_after_epoch").asInt());
        assertTrue(Files.readString(run.resolve("spec.yaml")).contains("epochs: 5"), "spec.yaml has the raised epochs");
    }

    @Test
    void anotherSpecIsRefusedNamingWhatDiffers(@TempDir Path tmp) {
        Path run = completedRun(tmp);
        CliRunner cli = new CliRunner();
        assertEquals(2, cli.run("train", "--resume", run.toString(), "--set", "train.lr=0.5", "--set", "train.epochs=9"));
        assertTrue(cli.err().contains("was trained with another spec (train.lr differs); a resumed run continues its own "
                + "spec, of which only train.epochs may change"), cli.err());

        CliRunner other = new CliRunner();
        assertEquals(2, other.run("train", "--resume", run.toString(), "--config", "configs/quadratic.yaml"));
        assertTrue(other.err().contains("was trained with another spec ("), other.err());
        assertTrue(other.err().contains("name"), other.err());

        CliRunner same = new CliRunner(); // the same --config and --set as the run: nothing to do
        assertEquals(0, same.run("train", "--resume", run.toString(), "--config", CONFIG, "--set", "train.epochs=3"),
                same.err());
    }

    @Test
    void fewerEpochsThanDoneIsRefused(@TempDir Path tmp) {
        Path run = completedRun(tmp);
        CliRunner cli = new CliRunner();
        assertEquals(2, cli.run("train", "--resume", run.toString(), "--set", "train.epochs=2"));
        assertTrue(cli.err().contains("train.epochs is 2 but the run in " + run + " is past epoch 3; give at least 4"),
                cli.err());
    }

    @Test
    void aResumeRefusedPartWayLeavesTheDirectoryAsItWas(@TempDir Path tmp) throws IOException {
        Path run = completedRun(tmp);
        List<String> metrics = Files.readAllLines(run.resolve("metrics.csv"));
        metrics.set(0, metrics.get(0).replace("val_mse", "valid_mse"));
        Files.write(run.resolve("metrics.csv"), metrics);
        String spec = Files.readString(run.resolve("spec.yaml"));
        String summary = Files.readString(run.resolve("summary.json"));
        CliRunner cli = new CliRunner();
        assertEquals(2, cli.run("train", "--resume", run.toString(), "--set", "train.epochs=5"));
        assertTrue(cli.err().contains("--resume: cannot resume " + run + ": " + run.resolve("metrics.csv")
                + " has the columns [epoch, train_mse, valid_mse"), cli.err());
        assertEquals(spec, Files.readString(run.resolve("spec.yaml")), "spec.yaml keeps its 3 epochs");
        assertEquals(summary, Files.readString(run.resolve("summary.json")), "the summary stays");
    }

    @Test
    void aDirectoryWithoutACheckpointIsRefused(@TempDir Path tmp) throws IOException {
        CliRunner none = new CliRunner();
        assertEquals(2, none.run("train", "--resume", tmp.resolve("nope").toString()));
        assertEquals("error: --resume: no run directory at " + tmp.resolve("nope"), none.err().strip());

        Path run = completedRun(tmp);
        Files.delete(run.resolve("checkpoint.safetensors"));
        CliRunner cli = new CliRunner();
        assertEquals(2, cli.run("train", "--resume", run.toString(), "--set", "train.epochs=4"));
        assertTrue(cli.err().contains("--resume: no checkpoint at " + run.resolve("checkpoint.safetensors")), cli.err());

        CliRunner both = new CliRunner();
        assertEquals(2, both.run("train", "--resume", run.toString(), "--overwrite"));
        assertTrue(both.err().contains("--resume and --overwrite contradict each other"), both.err());
    }

    @Test
    void aCheckpointWithAnImpossibleHeaderIsRefusedNamingIt(@TempDir Path tmp) throws IOException {
        Path run = completedRun(tmp);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(10).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putLong(1_000_000_000_000_000L).put("{}".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        Files.write(run.resolve("checkpoint.safetensors"), b.array());
        CliRunner cli = new CliRunner();
        assertEquals(2, cli.run("train", "--resume", run.toString(), "--set", "train.epochs=5"));
        assertTrue(cli.err().contains("checkpoint.safetensors is not a checkpoint: its header length reads "
                + "1000000000000000 bytes, but the file has 10"), cli.err());
        assertTrue(!cli.err().contains("Exception"), cli.err());
    }
}
