package dev.hesstrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.hesstrain.data.Generator;
import dev.hesstrain.data.Seeds;
import dev.hesstrain.data.Split;
import dev.hesstrain.model.Network;
import dev.hesstrain.spec.Spec;
import dev.hesstrain.spec.SpecLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TrainerTest {
    static Spec spec(String... overrides) {
        return SpecLoader.load(Path.of("configs/sin2pi.yaml"), List.of(overrides));
    }

    static Trainer trainer(Spec spec, NDManager m) {
        return trainer(spec, m, Trainer.MIN_CHECKPOINT_SECONDS);
    }

    static Trainer trainer(Spec spec, NDManager m, double minCheckpointSeconds) {
        Split split = Split.split(Generator.generate(spec.data(), Seeds.data(spec.seed())), spec.data().validation(), Seeds.split(spec.seed()));
        Network net = Network.build(spec.model(), 2, DataType.FLOAT32, m, Seeds.init(spec.seed()));
        return new Trainer(List.of(spec), List.of(net), List.of(split.train()), List.of(split.validation()),
                minCheckpointSeconds);
    }

    /** A listener that keeps member 0's rows and the checkpoints' epochs and times. */
    static final class Recorder implements TrainingListener {
        final List<EpochMetrics> rows = new ArrayList<>();
        final List<long[]> checkpoints = new ArrayList<>();
        Trainer.Result result;

        @Override
        public void onEpoch(Trainer.Loop loop, int member, EpochMetrics metrics) {
            if (member == 0) {
                rows.add(metrics);
            }
        }

        @Override
        public void onCheckpoint(Trainer.Loop loop, int epoch, List<Integer> members) {
            checkpoints.add(new long[] {epoch, System.nanoTime()});
        }

        List<Long> checkpointEpochs() {
            return checkpoints.stream().map(c -> c[0]).toList();
        }
    }

    /** A whole run of {@code t} with {@code more} listeners, recorded. */
    static Recorder run(Trainer t, TrainingListener... more) {
        Recorder rec = new Recorder();
        List<TrainingListener> all = new ArrayList<>(List.of(rec));
        all.addAll(List.of(more));
        rec.result = t.run(all);
        return rec;
    }

    /** The arrays alive in {@code m} after each epoch of a whole run of {@code t}. */
    static List<Integer> liveArraysAfterEachEpoch(Trainer t, Spec spec, NDManager m) {
        List<Integer> live = new ArrayList<>();
        run(t, new TrainingListener() {
            @Override
            public void onEpoch(Trainer.Loop loop, int member, EpochMetrics metrics) {
                live.add(m.getManagedArrays().size());
            }
        });
        return live;
    }

    /** Epochs checkpointed, with the time of each. */
    private static List<long[]> checkpoints(Trainer t) {
        return run(t).checkpoints;
    }

    /** Stops the run after the step at which {@code when} first holds. */
    static TrainingListener stopWhen(java.util.function.LongPredicate when) {
        return new StopRequest(new java.util.function.Supplier<>() {
            long steps;

            @Override
            public String get() {
                return when.test(++steps) ? "SIGINT" : null;
            }
        });
    }

    @Test
    void everyDueCheckpointIsWrittenWithoutAMinimumInterval() {
        try (NDManager m = NDManager.newBaseManager()) {
            Spec spec = spec("train.epochs=9", "train.checkpoint_every=2");
            List<long[]> c = checkpoints(trainer(spec, m, 0));
            assertEquals(List.of(0L, 2L, 4L, 6L, 8L, 9L), c.stream().map(e -> e[0]).toList());
        }
    }

    /**
     * Checkpoints due less than {@link Trainer#MIN_CHECKPOINT_SECONDS} after the previous one are
     * skipped, all but the last: with epochs of a few milliseconds, checkpointing every one would
     * spend the run in fsync.
     */
    @Test
    void checkpointsDueSoonerThanTheMinimumIntervalAreSkippedButTheLastIsKept() {
        try (NDManager m = NDManager.newBaseManager()) {
            Spec spec = spec("train.epochs=40", "train.checkpoint_every=1");
            List<long[]> c = checkpoints(trainer(spec, m));
            assertEquals(0L, c.get(0)[0]);
            assertEquals(40L, c.get(c.size() - 1)[0]);
            for (int i = 1; i < c.size() - 1; i++) {
                assertTrue(c.get(i)[1] - c.get(i - 1)[1] >= Trainer.MIN_CHECKPOINT_SECONDS * 1e9,
                        "checkpoints at epochs " + c.get(i - 1)[0] + " and " + c.get(i)[0] + " are too close");
            }
            assertTrue(c.size() < 41, "every epoch was checkpointed");
        }
    }

    /**
     * After a checkpoint that took t, the next due one waits max(1 s, t / 2 %): a plain run's few
     * milliseconds keep the one-second spacing, a large stack's checkpoint stays at 2 % of the time.
     */
    @Test
    void checkpointSpacingKeepsCheckpointsWithinTwoPercentOfTheTime() {
        long second = 1_000_000_000L;
        assertEquals(second, Trainer.checkpointSpacing(second, 5_000_000L), "5 ms: one second");
        assertEquals(5 * second, Trainer.checkpointSpacing(second, 100_000_000L), "100 ms: 5 s");
        assertEquals(0, Trainer.checkpointSpacing(0, 100_000_000L), "no minimum (tests): every due one");
    }

    /** Every array a step creates is freed with it: the count of live arrays does not grow. */
    @Test
    void stepsLeaveNoArraysBehind() {
        for (String batch : new String[] {"500", "64"}) {
            Spec spec = spec("train.epochs=30", "train.batch_size=" + batch);
            try (NDManager m = NDManager.newBaseManager()) {
                List<Integer> live = liveArraysAfterEachEpoch(trainer(spec, m), spec, m);
                assertEquals(live.get(4), live.get(29), "live arrays after epoch 5 and 30, batch " + batch + ": " + live);
            }
        }
    }

    @Test
    void aStopRequestEndsTheRunAfterTheStepWithACheckpoint() {
        Spec spec = spec("train.epochs=50", "train.checkpoint_every=100");
        try (NDManager m = NDManager.newBaseManager()) {
            Trainer t = trainer(spec, m);
            Recorder rec = run(t, stopWhen(steps -> steps >= 3));
            Trainer.Result r = rec.result;
            assertEquals(StopReason.INTERRUPTED, r.reason());
            assertEquals("interrupted by a signal (SIGINT)", r.detail());
            assertEquals(3, rec.rows.size());
            assertEquals(List.of(0L, 3L), rec.checkpointEpochs());
            assertEquals(3, t.lastCheckpoint(0));
        }
    }

    @Test
    void aStopRequestMidEpochStopsAfterThatStep() {
        Spec spec = spec("train.epochs=5", "train.batch_size=64"); // 400 rows: 7 steps an epoch
        try (NDManager m = NDManager.newBaseManager()) {
            Recorder rec = run(trainer(spec, m), stopWhen(steps -> steps >= 3));
            Trainer.Result r = rec.result;
            assertEquals(StopReason.INTERRUPTED, r.reason());
            assertEquals(3, r.steps());
            assertEquals(1, rec.rows.size());
            EpochMetrics e = rec.rows.get(0);
            assertTrue(e.finite() && e.trainLoss() > 0.3, "averaged over the 192 rows stepped on, not all 400: " + e);
        }
    }

    @Test
    void aNanLossStopsTheRunAsDiverged() {
        Spec spec = spec("train.epochs=100", "train.lr=1e30", "train.optimizer=sgd", "train.checkpoint_every=1");
        try (NDManager m = NDManager.newBaseManager()) {
            Recorder rec = run(trainer(spec, m));
            assertEquals(StopReason.DIVERGED, rec.result.reason());
            assertTrue(rec.rows.size() < 100);
            assertTrue(rec.rows.stream().allMatch(EpochMetrics::finite), "no metrics row holds the NaN step");
        }
    }

    /**
     * Full batch: the validation loss and the Hessian norms (λ = 0: not given by the steps) come
     * every 10 epochs by default and at the last; the training loss every epoch.
     */
    @Test
    void evaluationRunsEveryEvalEveryEpochsAndAtTheLast() {
        for (String every : new String[] {"", "3"}) {
            Spec spec = every.isEmpty() ? spec("train.epochs=25", "penalty.lambda=0")
                    : spec("train.epochs=25", "penalty.lambda=0", "train.eval_every=" + every);
            int k = every.isEmpty() ? 10 : 3;
            try (NDManager m = NDManager.newBaseManager(); Trainer t = trainer(spec, m)) {
                List<EpochMetrics> rows = run(t).rows;
                assertEquals(25, rows.size());
                for (EpochMetrics e : rows) {
                    boolean evaluated = e.epoch() % k == 0 || e.epoch() == 25;
                    String at = "eval_every " + k + ", epoch " + e.epoch();
                    assertEquals(evaluated, Double.isFinite(e.valLoss()), at + ": " + e);
                    assertEquals(evaluated, Double.isFinite(e.hessianFroMean()), at + ": " + e);
                    assertTrue(Double.isFinite(e.trainLoss()) && e.trainLoss() > 0, at + ": " + e);
                }
            }
        }
    }

    /** The loop's wall time covers its steps: the wall time per step is at least their mean. */
    @Test
    void theWallTimePerStepCoversTheSteps() {
        Spec spec = spec("train.epochs=20");
        try (NDManager m = NDManager.newBaseManager(); Trainer t = trainer(spec, m)) {
            Trainer.Result r = run(t).result;
            assertEquals(20, r.stepMillis().length);
            double mean = java.util.Arrays.stream(r.stepMillis()).sum() / 20;
            assertTrue(r.wallMillisPerStep() >= mean, r.wallMillisPerStep() + " < " + mean);
        }
    }

    /** Two sin2pi members (seeds 0 and 1) as one stack. */
    private static Trainer pair(Spec spec, NDManager m) {
        List<Spec> specs = List.of(spec, spec("train.epochs=6", "seed=1"));
        List<Network> nets = new ArrayList<>();
        List<dev.hesstrain.data.Dataset> train = new ArrayList<>();
        List<dev.hesstrain.data.Dataset> val = new ArrayList<>();
        for (Spec s : specs) {
            Split split = Split.split(Generator.generate(s.data(), Seeds.data(s.seed())), s.data().validation(),
                    Seeds.split(s.seed()));
            nets.add(Network.build(s.model(), 2, DataType.FLOAT32, m, Seeds.init(s.seed())));
            train.add(split.train());
            val.add(split.validation());
        }
        return new Trainer(specs, nets, train, val, 0);
    }

    /** A stop request for one member (early stopping's hook): it gets no more rows and a checkpoint, the other goes on. */
    @Test
    void aMemberStoppedByAListenerStopsAloneWithACheckpoint() {
        try (NDManager m = NDManager.newBaseManager(); Trainer t = pair(spec("train.epochs=6"), m)) {
            List<int[]> rows = new ArrayList<>();
            List<String> checkpoints = new ArrayList<>();
            Trainer.Result r = t.run(List.of(new TrainingListener() {
                @Override
                public void onEpoch(Trainer.Loop loop, int member, EpochMetrics e) {
                    rows.add(new int[] {member, e.epoch()});
                    if (member == 1 && e.epoch() == 2) {
                        loop.stopMember(1, StopReason.INTERRUPTED, "stopped early");
                    }
                }

                @Override
                public void onCheckpoint(Trainer.Loop loop, int epoch, List<Integer> members) {
                    checkpoints.add(epoch + ":" + members);
                }
            }));
            assertEquals(6, rows.stream().filter(x -> x[0] == 0).count());
            assertEquals(2, rows.stream().filter(x -> x[0] == 1).count());
            assertEquals(List.of(StopReason.COMPLETED, StopReason.INTERRUPTED), r.reasons());
            assertEquals("stopped early", r.details().get(1));
            assertEquals(6, r.lastGoodEpoch()[0]);
            assertEquals(2, r.lastGoodEpoch()[1]);
            assertTrue(checkpoints.contains("2:[1]") || checkpoints.contains("2:[0, 1]"), checkpoints.toString());
        }
    }

    /** A learning-rate factor (a schedule's hook): factor 0 leaves the member's weights as they were. */
    @Test
    void aLearningRateFactorOfZeroFreezesTheWeights() {
        Spec spec = spec("train.epochs=3");
        try (NDManager m = NDManager.newBaseManager(); Trainer t = trainer(spec, m)) {
            java.util.Map<String, double[]> before = dev.hesstrain.model.Weights.snapshot(t.network());
            run(t, new TrainingListener() {
                @Override
                public void onTrainingBegin(Trainer.Loop loop) {
                    loop.scaleLearningRate(0, 0);
                }
            });
            java.util.Map<String, double[]> after = dev.hesstrain.model.Weights.snapshot(t.network());
            for (String k : before.keySet()) {
                org.junit.jupiter.api.Assertions.assertArrayEquals(before.get(k), after.get(k), k);
            }
        }
    }
}
