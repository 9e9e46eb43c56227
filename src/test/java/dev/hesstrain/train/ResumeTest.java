package dev.hesstrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hesstrain.runs.MetricsCsv;
import dev.hesstrain.runs.RunDirectory;
import dev.hesstrain.runs.RunSummary;
import dev.hesstrain.spec.Spec;
import dev.hesstrain.spec.SpecLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train --resume} at the job level: a run stopped after step k (mid-epoch or at an epoch's
 * end) and resumed from its checkpoint writes the metrics.csv of an uninterrupted run of the same
 * spec, row for row, with Adam and with SGD with momentum, minibatches, and the Hutchinson penalty
 * (whose probes are drawn per step).
 */
class ResumeTest {
    private static final TrainJob.Progress SILENT = new TrainJob.Progress() {
        @Override
        public void start(Spec s, RunDirectory r, int trainSamples, int validationSamples, long parameters, String device) {}

        @Override
        public void epoch(EpochMetrics m, int epochs) {}

        @Override
        public void finish() {}
    };

    /** sin2pi on 300 samples (240 training rows), minibatches of 64: 4 steps an epoch, the last of 48 rows. */
    static Spec spec(String... overrides) {
        List<String> all = new ArrayList<>(List.of("data.samples=300", "train.batch_size=64", "train.epochs=6",
                "train.checkpoint_every=1000"));
        all.addAll(List.of(overrides));
        return SpecLoader.load(Path.of("configs/sin2pi.yaml"), all);
    }

    /** A stop asked for after step {@code k} of this process's loop. */
    static Supplier<String> stopAfter(long k) {
        return new Supplier<>() {
            long polls;

            @Override
            public String get() {
                return ++polls >= k ? "SIGTERM" : null;
            }
        };
    }

    static TrainJob.Outcome train(Spec spec, Path dir, RunDirectory.Mode mode, Supplier<String> stop) throws IOException {
        TrainJob job = mode == RunDirectory.Mode.RESUME ? TrainJob.resuming(spec, dir)
                : new TrainJob(spec, "configs/sin2pi.yaml", Path.of("").toAbsolutePath());
        try (RunDirectory run = RunDirectory.claim(dir, mode)) {
            return job.run(run, SILENT, stop);
        }
    }

    /** metrics.csv without its seconds column. */
    static List<Map<String, String>> rows(Path dir) throws IOException {
        List<Map<String, String>> out = new ArrayList<>();
        for (Map<String, String> r : MetricsCsv.read(dir.resolve(RunDirectory.METRICS)).rows()) {
            Map<String, String> copy = new java.util.LinkedHashMap<>(r);
            copy.remove("seconds");
            out.add(copy);
        }
        return out;
    }

    static void assertResumedEqualsUninterrupted(Spec spec, Path tmp, long... stops) throws IOException {
        Path whole = tmp.resolve("whole");
        assertEquals(StopReason.COMPLETED, train(spec, whole, RunDirectory.Mode.NEW, () -> null).reason());
        Path cut = tmp.resolve("cut");
        TrainJob.Outcome first = train(spec, cut, RunDirectory.Mode.NEW, stopAfter(stops[0]));
        assertEquals(StopReason.INTERRUPTED, first.reason());
        for (int i = 1; i <= stops.length; i++) {
            Supplier<String> stop = i < stops.length ? stopAfter(stops[i]) : () -> null;
            TrainJob.Outcome o = train(spec, cut, RunDirectory.Mode.RESUME, stop);
            assertEquals(i < stops.length ? StopReason.INTERRUPTED : StopReason.COMPLETED, o.reason());
        }
        List<Map<String, String>> expected = rows(whole);
        List<Map<String, String>> actual = rows(cut);
        assertEquals(spec.train().epochs(), expected.size());
        assertEquals(expected.size(), actual.size(), "one row per epoch");
        for (int e = 0; e < expected.size(); e++) {
            for (Map.Entry<String, String> c : expected.get(e).entrySet()) {
                String want = c.getValue();
                String got = actual.get(e).get(c.getKey());
                if (want.isEmpty() || got.isEmpty()) {
                    assertEquals(want, got, "epoch " + (e + 1) + " " + c.getKey());
                } else {
                    double w = Double.parseDouble(want);
                    assertEquals(w, Double.parseDouble(got), 1e-6 * Math.abs(w) + 1e-12,
                            "epoch " + (e + 1) + " " + c.getKey());
                }
            }
        }
        RunSummary a = RunSummary.read(whole.resolve(RunDirectory.SUMMARY));
        RunSummary b = RunSummary.read(cut.resolve(RunDirectory.SUMMARY));
        assertEquals(a.figure("train_mse"), b.figure("train_mse"), 1e-6 * a.figure("train_mse"));
        assertEquals(a.hessianFroMean(), b.hessianFroMean(), 1e-6 * a.hessianFroMean());
        assertEquals(a.steps(), b.steps());
        assertEquals(spec.train().epochs(), b.epochsRun());
        assertEquals("completed", b.stopped());
        String log = Files.readString(cut.resolve(RunDirectory.LOG));
        assertTrue(log.contains("resumed from the checkpoint of epoch"), log);
        assertTrue(log.indexOf("run stopped: interrupted") < log.lastIndexOf("resumed from"),
                "train.log keeps the first run's lines and appends the resumed one's");
    }

    @Test
    void adamWithHutchinsonProbesStoppedMidEpoch(@TempDir Path tmp) throws IOException {
        // step 10: the second batch of epoch 3
        assertResumedEqualsUninterrupted(spec("penalty.method=hutchinson", "penalty.probes=2", "penalty.exact_every=2"),
                tmp, 10);
    }

    @Test
    void sgdWithMomentumStoppedAtAnEpochsEndThenMidEpoch(@TempDir Path tmp) throws IOException {
        // step 8 ends epoch 2; 7 more steps stop in epoch 4 (its third batch)
        assertResumedEqualsUninterrupted(spec("train.optimizer=sgd", "train.momentum=0.9", "train.lr=0.05"), tmp, 8, 7);
    }

    @Test
    void theCheckpointHoldsTheOptimizerStateAndTheCutEpochsPosition(@TempDir Path tmp) throws IOException {
        Spec spec = spec();
        Path dir = tmp.resolve("run");
        train(spec, dir, RunDirectory.Mode.NEW, stopAfter(6)); // epoch 2, batch 2
        Trainer.Position p = TrainJob.checkpointPosition(dir);
        assertEquals(1, p.epochs());
        assertEquals(2, p.batches());
        assertEquals(6, p.steps());
        assertEquals(128, p.sums()[7], "rows stepped on in the cut epoch");
        // the cut epoch's partial row is in metrics.csv until the resumed run replaces it
        assertEquals(2, rows(dir).size());
        RunSummary s = RunSummary.read(dir.resolve(RunDirectory.SUMMARY));
        assertEquals("interrupted", s.stopped());
        assertEquals("interrupted by a signal (SIGTERM)", s.stopReason());
        assertFalse(s.resumedAfterEpoch() != null, "a first run resumed nothing");
        train(spec, dir, RunDirectory.Mode.RESUME, () -> null);
        assertEquals(1, RunSummary.read(dir.resolve(RunDirectory.SUMMARY)).resumedAfterEpoch());
    }
}
