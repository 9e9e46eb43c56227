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
        Split split = Split.split(Generator.generate(spec.data(), Seeds.data(spec.seed())), spec.data().validation(), Seeds.split(spec.seed()));
        Network net = Network.build(spec.model(), 2, DataType.FLOAT32, m, Seeds.init(spec.seed()));
        return new Trainer(spec, net, split.train(), split.validation());
    }

    /** A whole run of {@code t} with the job's checkpoint and divergence listeners, and {@code more}. */
    static Trainer.Result run(Trainer t, Checkpoints checkpoints, TrainingListener... more) {
        List<TrainingListener> all = new ArrayList<>(List.of(checkpoints, new Divergence(checkpoints::lastGood)));
        all.addAll(List.of(more));
        return t.run(all);
    }

    static Checkpoints checkpoints(Trainer t, Spec spec, double minSeconds, Checkpoints.Saver saver) {
        return new Checkpoints(t.network(), spec.train().checkpointEvery(), minSeconds, saver);
    }

    /** The arrays alive in {@code m} after each epoch of a whole run of {@code t}. */
    static List<Integer> liveArraysAfterEachEpoch(Trainer t, Spec spec, NDManager m) {
        List<Integer> live = new ArrayList<>();
        run(t, checkpoints(t, spec, Trainer.MIN_CHECKPOINT_SECONDS, e -> {}), new TrainingListener() {
            @Override
            public void onEpoch(Trainer.Loop loop, EpochMetrics metrics) {
                live.add(m.getManagedArrays().size());
            }
        });
        return live;
    }

    /** Epochs checkpointed, with the time of each. */
    private static List<long[]> checkpoints(Trainer t, Spec spec, double minSeconds) {
        List<long[]> out = new ArrayList<>();
        run(t, checkpoints(t, spec, minSeconds, epoch -> out.add(new long[] {epoch, System.nanoTime()})));
        return out;
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
            List<long[]> c = checkpoints(trainer(spec, m), spec, 0);
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
            List<long[]> c = checkpoints(trainer(spec, m), spec, Trainer.MIN_CHECKPOINT_SECONDS);
            assertEquals(0L, c.get(0)[0]);
            assertEquals(40L, c.get(c.size() - 1)[0]);
            for (int i = 1; i < c.size() - 1; i++) {
                assertTrue(c.get(i)[1] - c.get(i - 1)[1] >= Trainer.MIN_CHECKPOINT_SECONDS * 1e9,
                        "checkpoints at epochs " + c.get(i - 1)[0] + " and " + c.get(i)[0] + " are too close");
            }
            assertTrue(c.size() < 41, "every epoch was checkpointed");
        }
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
            List<Integer> checkpoints = new ArrayList<>();
            Trainer t = trainer(spec, m);
            Checkpoints c = checkpoints(t, spec, Trainer.MIN_CHECKPOINT_SECONDS, checkpoints::add);
            Trainer.Result r = run(t, c, stopWhen(steps -> steps >= 3));
            assertEquals(StopReason.INTERRUPTED, r.reason());
            assertEquals("interrupted by a signal (SIGINT)", r.detail());
            assertEquals(3, r.epochs().size());
            assertEquals(List.of(0, 3), checkpoints);
            assertEquals(3, c.lastGood());
        }
    }

    @Test
    void aStopRequestMidEpochStopsAfterThatStep() {
        Spec spec = spec("train.epochs=5", "train.batch_size=64"); // 400 rows: 7 steps an epoch
        try (NDManager m = NDManager.newBaseManager()) {
            Trainer t = trainer(spec, m);
            Trainer.Result r = run(t, checkpoints(t, spec, Trainer.MIN_CHECKPOINT_SECONDS, e -> {}),
                    stopWhen(steps -> steps >= 3));
            assertEquals(StopReason.INTERRUPTED, r.reason());
            assertEquals(3, r.steps());
            assertEquals(1, r.epochs().size());
            EpochMetrics e = r.epochs().get(0);
            assertTrue(e.finite() && e.trainLoss() > 0.3, "averaged over the 192 rows stepped on, not all 400: " + e);
        }
    }

    @Test
    void aNanLossStopsTheRunAsDiverged() {
        Spec spec = spec("train.epochs=100", "train.lr=1e30", "train.optimizer=sgd", "train.checkpoint_every=1");
        try (NDManager m = NDManager.newBaseManager()) {
            Trainer t = trainer(spec, m);
            Trainer.Result r = run(t, checkpoints(t, spec, Trainer.MIN_CHECKPOINT_SECONDS, e -> {}));
            assertEquals(StopReason.DIVERGED, r.reason());
            assertTrue(r.epochs().size() < 100);
            assertTrue(r.epochs().stream().allMatch(EpochMetrics::finite), "no metrics row holds the NaN step");
        }
    }
}
