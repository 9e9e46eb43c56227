package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hesstrain.runs.Json;
import dev.hesstrain.runs.MetricsCsv;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** train.schedule, train.weight_decay and train.early_stopping through the real command line. */
class TrainControlsCommandTest {
    static final String CONFIG = "configs/sin2pi.yaml";

    private static Path train(Path tmp, String name, String... sets) {
        Path run = tmp.resolve(name);
        String[] args = new String[5 + 2 * sets.length];
        args[0] = "train";
        args[1] = "--config";
        args[2] = CONFIG;
        args[3] = "--out";
        args[4] = run.toString();
        for (int i = 0; i < sets.length; i++) {
            args[5 + 2 * i] = "--set";
            args[6 + 2 * i] = sets[i];
        }
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run(args), cli.err());
        return run;
    }

    private static double[] column(Path run, String name) throws IOException {
        List<Map<String, String>> rows = MetricsCsv.read(run.resolve("metrics.csv")).rows();
        return rows.stream().mapToDouble(r -> Double.parseDouble(r.get(name))).toArray();
    }

    /**
     * The lr column of a warm-up then step-decay schedule: SequentialLR([LinearLR(0.5, total_iters=2),
     * StepLR(step_size=2, gamma=0.5)], milestones=[2]) with lr 0.01, stepped once per epoch, gives
     * 0.005, 0.0075, then 0.01, 0.01, 0.005, 0.005, 0.0025 (torch 1.13).
     */
    @Test
    void theLrColumnIsTheSchedulesRate(@TempDir Path tmp) throws IOException {
        Path run = train(tmp, "sched", "train.epochs=7", "train.lr=0.01", "train.schedule={type: step, step_size: 2, "
                + "gamma: 0.5, warmup_epochs: 2, start_factor: 0.5}");
        assertArrayEquals(new double[] {0.005, 0.0075, 0.01, 0.01, 0.005, 0.005, 0.0025}, column(run, "lr"), 1e-15);
        Path constant = train(tmp, "const", "train.epochs=2", "train.lr=0.01");
        assertArrayEquals(new double[] {0.01, 0.01}, column(constant, "lr"), 0);
    }

    /**
     * A run that cannot improve by min_delta after its first epoch stops after 1 + patience epochs,
     * says so, and keeps epoch 1's weights: its model.safetensors is that of a 1-epoch run.
     */
    @Test
    void earlyStoppingStopsAndKeepsTheBestEpochsWeights(@TempDir Path tmp) throws IOException {
        Path run = train(tmp, "es", "train.epochs=20", "train.eval_every=1", "train.early_stopping={patience: 2, min_delta: 10}");
        JsonNode s = Json.readTree(run.resolve("summary.json"));
        assertEquals("early_stopped", s.get("stopped").asText());
        assertEquals(3, s.get("epochs_run").asInt());
        JsonNode es = s.get("early_stopping");
        assertEquals("val_mse", es.get("monitor").asText());
        assertEquals(1, es.get("best_epoch").asInt());
        assertEquals(column(run, "val_mse")[0], es.get("best_value").asDouble(), 0);
        assertEquals(3, column(run, "val_mse").length);
        Path one = train(tmp, "one", "train.epochs=1");
        assertArrayEquals(Files.readAllBytes(one.resolve("model.safetensors")),
                Files.readAllBytes(run.resolve("model.safetensors")));
        // without a validation set it watches the training loss
        Path noVal = train(tmp, "noval", "train.epochs=20", "data.validation=0", "train.eval_every=1",
                "train.early_stopping={patience: 1, min_delta: 10}");
        JsonNode t = Json.readTree(noVal.resolve("summary.json"));
        assertEquals("train_mse", t.get("early_stopping").get("monitor").asText());
        assertEquals(2, t.get("epochs_run").asInt());
    }

    /** Weight decay changes the run, and a run without it has no early_stopping record. */
    @Test
    void weightDecayChangesTheWeights(@TempDir Path tmp) throws IOException {
        Path plain = train(tmp, "plain", "train.epochs=3");
        Path decayed = train(tmp, "wd", "train.epochs=3", "train.weight_decay=0.5");
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(plain.resolve("model.safetensors")),
                Files.readAllBytes(decayed.resolve("model.safetensors"))));
        assertFalse(Json.readTree(plain.resolve("summary.json")).has("early_stopping"));
    }
}
