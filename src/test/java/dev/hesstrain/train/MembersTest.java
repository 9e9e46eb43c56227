package dev.hesstrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.hesstrain.data.Dataset;
import dev.hesstrain.data.Generator;
import dev.hesstrain.data.Seeds;
import dev.hesstrain.data.Split;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Weights;
import dev.hesstrain.setup.Setup;
import dev.hesstrain.spec.Spec;
import dev.hesstrain.spec.SpecLoader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each member of a stack of R > 1 in {@link Trainer} gives, epoch by epoch, the metrics of a plain
 * run (a stack of one, through the network's own passes) of that member's resolved spec (its own λ, lr, momentum and seed, so its own data, initial
 * weights, split, minibatch order and probes), to float tolerance, and ends with the same weights.
 */
class MembersTest {
    /** sin2pi, small: 120 samples, float64, checkpoints every epoch. */
    private static Spec spec(List<String> common, String member) {
        List<String> all = new ArrayList<>(List.of("data.samples=120", "dtype=float64", "train.epochs=6",
                "train.checkpoint_every=1", "train.eval_every=1"));
        String config = "configs/sin2pi.yaml";
        for (String c : common) {
            if (c.startsWith("config=")) { // another shipped config than sin2pi
                config = c.substring("config=".length());
            } else {
                all.add(c);
            }
        }
        if (!member.isEmpty()) {
            all.addAll(List.of(member.split(" ")));
        }
        return SpecLoader.load(Path.of(config), all);
    }

    private record Member(Network net, Dataset train, Dataset validation) {}

    /** The members' specs, networks and data, as the stacked trainer takes them. */
    private record Stack(List<Spec> specs, List<Network> nets, List<Dataset> train, List<Dataset> validation) {
        /** A stacked trainer of these members that checkpoints whenever one is due. */
        Trainer trainer() {
            return new Trainer(specs, nets, train, validation, 0);
        }
    }

    /** Every spec's {@link Member}, member {@code poisoned}'s data poisoned (-1: none). */
    private static Stack stack(List<Spec> specs, NDManager m, int poisoned) {
        Stack stack = new Stack(specs, new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        for (int i = 0; i < specs.size(); i++) {
            Member a = member(specs.get(i), m, i == poisoned);
            stack.nets().add(a.net);
            stack.train().add(a.train);
            stack.validation().add(a.validation);
        }
        return stack;
    }

    private static Member member(Spec spec, NDManager m) {
        return member(spec, m, false);
    }

    /**
     * A member's network and data; {@code poisoned}: the first row of the last minibatch of epoch 1
     * gets the target 1e200, whose square overflows, so the member diverges at that step (after
     * the epoch's earlier steps).
     */
    private static Member member(Spec spec, NDManager m, boolean poisoned) {
        Split split = spec.data().file() != null ? Setup.loadData(spec, "test", Path.of(""))
                : Split.split(Generator.generate(spec.data(), spec.seed()), spec.data().validation(), Seeds.split(spec.seed()));
        Network net = Network.build(spec.model(), split.train().d(), spec.isFloat64() ? DataType.FLOAT64 : DataType.FLOAT32,
                m, Seeds.init(spec.seed()));
        Dataset train = split.train();
        if (poisoned) {
            int batch = spec.train().batchSize();
            int[] order = Split.permutation(train.n(),
                    new java.util.SplittableRandom(Seeds.derive(Seeds.shuffle(spec.seed()), 1)));
            double[] y = train.y().clone();
            y[order[(train.n() - 1) / batch * batch] * train.o()] = 1e200;
            train = new Dataset(train.x(), y, train.n(), train.d(), train.o(), train.inputNames(), train.targetNames(),
                    train.source());
        }
        return new Member(net, train, split.validation());
    }

    private record Plain(List<EpochMetrics> rows, Trainer.Result result, int lastGoodEpoch,
            Map<String, double[]> weights) {}

    private static Plain plain(Spec spec, NDManager m, boolean poisoned) {
        Member a = member(spec, m, poisoned);
        try (Trainer t = new Trainer(List.of(spec), List.of(a.net), List.of(a.train), List.of(a.validation), 0)) {
            TrainerTest.Recorder rec = TrainerTest.run(t);
            return new Plain(rec.rows, rec.result, rec.result.lastGoodEpoch()[0], Weights.snapshot(a.net));
        }
    }

    private static void assertClose(double expected, double actual, double tol, String what) {
        if (Double.isNaN(expected)) {
            assertTrue(Double.isNaN(actual), what + ": expected NaN, found " + actual);
            return;
        }
        assertEquals(expected, actual, tol * Math.max(1, Math.abs(expected)), what);
    }

    private static void assertSameRows(List<EpochMetrics> expected, List<EpochMetrics> actual, double tol, String who) {
        assertEquals(expected.size(), actual.size(), who + ": epochs");
        for (int e = 0; e < expected.size(); e++) {
            EpochMetrics a = expected.get(e);
            EpochMetrics b = actual.get(e);
            String at = who + ", epoch " + a.epoch() + ", ";
            assertEquals(a.epoch(), b.epoch());
            assertClose(a.trainLoss(), b.trainLoss(), tol, at + "train loss");
            assertClose(a.valLoss(), b.valLoss(), tol, at + "validation loss");
            assertClose(a.penalty(), b.penalty(), tol, at + "penalty");
            assertClose(a.penaltyExact(), b.penaltyExact(), tol, at + "exact penalty");
            assertClose(a.loss(), b.loss(), tol, at + "loss");
            assertClose(a.hessianFroMean(), b.hessianFroMean(), tol, at + "hessian_fro_mean");
            assertClose(a.hessianFroMax(), b.hessianFroMax(), tol, at + "hessian_fro_max");
            assertClose(a.trainAccuracy(), b.trainAccuracy(), tol, at + "train accuracy");
            assertClose(a.valAccuracy(), b.valAccuracy(), tol, at + "validation accuracy");
        }
    }

    /** Trains the members stacked and each alone, and compares every member's rows and final weights. */
    private static Trainer.Result check(List<String> common, List<String> members, double tol) {
        return check(common, members, tol, -1);
    }

    /** {@link #check}, with member {@code poisoned}'s data poisoned (see {@link #member(Spec, NDManager, boolean)}). */
    private static Trainer.Result check(List<String> common, List<String> members, double tol, int poisoned) {
        try (NDManager m = NDManager.newBaseManager()) {
            List<Spec> specs = members.stream().map(s -> spec(common, s)).toList();
            Stack stack = stack(specs, m, poisoned);
            List<List<EpochMetrics>> rows = new ArrayList<>();
            specs.forEach(s -> rows.add(new ArrayList<>()));
            Trainer.Result res;
            try (Trainer st = stack.trainer()) {
                res = st.run(List.of(new TrainingListener() {
                    @Override
                    public void onEpoch(Trainer.Loop loop, int member, EpochMetrics metrics) {
                        rows.get(member).add(metrics);
                    }
                }));
            }
            for (int i = 0; i < specs.size(); i++) {
                Plain p = plain(specs.get(i), m, i == poisoned);
                String who = "member " + i + " (" + members.get(i) + ")";
                assertSameRows(p.rows, rows.get(i), tol, who);
                assertEquals(p.rows.size(), res.epochsRun()[i], who + ": epochs with a row");
                assertSameRows(p.rows.isEmpty() ? List.of() : List.of(p.rows.get(p.rows.size() - 1)),
                        res.lastRows().get(i) == null ? List.of() : List.of(res.lastRows().get(i)), tol, who + ", last row");
                assertEquals(p.result.reason(), res.reasons().get(i), who);
                assertEquals(p.lastGoodEpoch, res.lastGoodEpoch()[i], who);
                if (p.result.reason() != StopReason.INTERRUPTED) {
                    // a diverged member's network holds its last good checkpoint, as its plain run's does
                    Map<String, double[]> w = Weights.snapshot(stack.nets().get(i));
                    for (Map.Entry<String, double[]> e : p.weights.entrySet()) {
                        double[] mine = w.get(e.getKey());
                        for (int j = 0; j < mine.length; j++) {
                            assertClose(e.getValue()[j], mine[j], tol, who + " " + e.getKey() + "[" + j + "]");
                        }
                    }
                }
            }
            return res;
        }
    }

    /** The overrides for a penalty method; Hutchinson checks the exact penalty every {@code every} epochs. */
    private static List<String> method(String method, int every) {
        return method.equals("exact") ? List.of("penalty.method=exact")
                : List.of("penalty.method=hutchinson", "penalty.exact_every=" + every);
    }

    /** One learning rate for all: the members share the engine's fused Adam update of Θ. */
    @ParameterizedTest
    @ValueSource(strings = {"exact", "hutchinson"})
    void lambdaMembersEqualTheirPlainRuns(String method) {
        check(method(method, 2),
                List.of("penalty.lambda=0", "penalty.lambda=1e-3", "penalty.lambda=1e-1"), 1e-9);
    }

    /**
     * sin2pi's members take the feature-major closed form on the replica axis (above); the exact
     * penalty through the replicated Taylor pairs and the row-major closed form, which stacks too
     * large for it take (ReplicaPasses.exactPass), gives the same members.
     */
    @ParameterizedTest
    @ValueSource(strings = {"taylor", "row_major"})
    void theOtherExactPassesOnTheReplicaAxisGiveTheSameMembers(String pass) {
        System.setProperty("hesstrain.replica_exact", pass);
        try {
            check(method("exact", 2), List.of("penalty.lambda=1e-3", "penalty.lambda=1e-1 seed=2"), 1e-9);
        } finally {
            System.clearProperty("hesstrain.replica_exact");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"exact", "hutchinson"})
    void learningRateAndSeedMembersEqualTheirPlainRuns(String method) {
        List<String> common = new ArrayList<>(method(method, 3));
        common.add("penalty.lambda=1e-2");
        check(common,
                List.of("train.lr=0.01", "train.lr=0.003 seed=4", "train.lr=0.03 seed=9"), 1e-9);
    }

    @Test
    void minibatchSgdMembersWithTheirOwnMomentumEqualTheirPlainRuns() {
        check(List.of("train.optimizer=sgd", "train.batch_size=32", "penalty.lambda=1e-3", "penalty.norm=trace"),
                List.of("train.momentum=0.9 train.lr=0.05", "train.momentum=0.5 train.lr=0.02 seed=3",
                        "train.momentum=0 train.lr=0.1 seed=5"), 1e-9);
    }

    /**
     * Members with their own train.schedule and train.weight_decay (AdamW): per-member rates and
     * decays in the array update, and the fused update while they agree.
     */
    @Test
    void scheduleAndWeightDecayMembersEqualTheirPlainRuns() {
        check(List.of("penalty.lambda=1e-3", "train.lr=0.02"),
                List.of("train.weight_decay=0.1",
                        "train.schedule.type=step train.schedule.step_size=2 train.schedule.gamma=0.5",
                        "train.weight_decay=0.01 train.schedule.type=cosine train.schedule.warmup_epochs=2 seed=3",
                        ""), 1e-9);
    }

    /** SGD's momentum buffers across a changing rate (rescaled per member), with L2 weight decay. */
    @Test
    void minibatchSgdMembersWithSchedulesAndWeightDecayEqualTheirPlainRuns() {
        check(List.of("train.optimizer=sgd", "train.batch_size=32", "penalty.lambda=1e-3", "train.lr=0.05"),
                List.of("train.weight_decay=0.2 train.schedule.type=step train.schedule.step_size=2 train.schedule.gamma=0.3",
                        "train.momentum=0.5 train.schedule.type=cosine train.schedule.warmup_epochs=1 "
                                + "train.schedule.start_factor=0.5 seed=2",
                        "train.weight_decay=0.05"), 1e-9);
    }

    /**
     * A member that stops early (min_delta so large that only epoch 1 improves: it stops after
     * epoch 1 + patience) keeps its best epoch's weights, as its plain run does; the others go on.
     */
    @Test
    void earlyStoppingMembersEqualTheirPlainRuns() {
        Trainer.Result r = check(List.of("penalty.lambda=1e-3", "train.eval_every=1"),
                List.of("train.early_stopping.patience=2 train.early_stopping.min_delta=10",
                        "train.early_stopping.patience=50 seed=2", "seed=3"), 1e-9);
        assertEquals(List.of(StopReason.EARLY_STOPPED, StopReason.COMPLETED, StopReason.COMPLETED), r.reasons());
        assertEquals(3, r.epochsRun()[0]);
        assertEquals(3, r.lastGoodEpoch()[0]); // its checkpoint at the stop holds epoch 1's weights (compared above)
    }

    @Test
    void minibatchHutchinsonWithGaussianProbes() {
        check(List.of("train.batch_size=50", "penalty.lambda=1e-2", "penalty.method=hutchinson",
                        "penalty.distribution=gaussian", "penalty.probes=2", "penalty.norm=offdiagonal"),
                List.of("seed=1", "seed=2"), 1e-9);
    }

    /** A member whose loss overflows stops alone, as its plain run does; the others go on unchanged. */
    @Test
    void aDivergingMemberStopsAloneAndKeepsItsLastCheckpoint() {
        check(List.of("dtype=float32", "penalty.lambda=1e-3"),
                List.of("train.lr=0.01", "train.lr=1e20", "train.lr=0.02 seed=2"), 2e-4);
    }

    @Test
    void membersThatDifferInStructureAreRefused() {
        Spec a = spec(List.of(), "penalty.lambda=1e-3");
        assertNull(Trainer.incompatibility(List.of(a, spec(List.of(), "penalty.lambda=0 seed=3 train.lr=0.1"))));
        String why = Trainer.incompatibility(List.of(a, spec(List.of(), "model.layers[0].units=7")));
        assertNotNull(why);
        assertTrue(why.contains("model"), why);
        assertTrue(Trainer.incompatibility(List.of(a, spec(List.of(), "train.epochs=3"))).contains("train"));
        // equal boxed values beyond the Integer cache (200 epochs) are equal
        assertNull(Trainer.incompatibility(List.of(spec(List.of("train.epochs=200", "train.checkpoint_every=150"), ""),
                spec(List.of("train.epochs=200", "train.checkpoint_every=150"), "penalty.lambda=1e-2"))));
        assertTrue(Trainer.incompatibility(List.of(a, spec(List.of(), "penalty.norm=trace"))).contains("penalty"));
        try (NDManager m = NDManager.newBaseManager()) {
            Spec b = spec(List.of(), "penalty.method=hutchinson");
            Member x = member(a, m);
            Member y = member(b, m);
            assertThrows(IllegalArgumentException.class, () -> new Trainer(List.of(a, b), List.of(x.net, y.net),
                    List.of(x.train, y.train), List.of(x.validation, y.validation)));
        }
    }

    /**
     * The plain run of {@code spec}, writing its checkpoint.safetensors into {@code file} as
     * TrainJob does, stopped (as by a signal) after {@code stopAfter} steps.
     */
    private static void plainCheckpoint(Spec spec, NDManager m, Path file, long stopAfter, boolean poisoned) {
        Member a = member(spec, m, poisoned);
        try (Trainer trainer = new Trainer(List.of(spec), List.of(a.net), List.of(a.train), List.of(a.validation), 0)) {
            trainer.run(List.of(writer(trainer, i -> file), stopAfter(stopAfter)));
        }
    }

    /** Stops the run after {@code steps} steps, as a signal would. */
    private static TrainingListener stopAfter(long steps) {
        return new TrainingListener() {
            @Override
            public void onStepEnd(Trainer.Loop loop) {
                if (loop.steps() >= steps) {
                    loop.stop(StopReason.INTERRUPTED, "stopped by the test");
                }
            }
        };
    }

    /** Writes each checkpointed member's checkpoint.safetensors to {@code file.apply(member)}. */
    private static TrainingListener writer(Trainer t, java.util.function.IntFunction<Path> file) {
        return new TrainingListener() {
            @Override
            public void onCheckpoint(Trainer.Loop loop, int epoch, List<Integer> saved) {
                for (int i : saved) {
                    try {
                        t.writeCheckpoint(i, file.apply(i));
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
            }
        };
    }

    /** A checkpoint's arrays by name, as float64 values. */
    private static Map<String, double[]> read(Path file) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, double[]> out = new java.util.TreeMap<>();
            for (Map.Entry<String, NDArray> e : Weights.decode(file, m, "a checkpoint").entrySet()) {
                out.put(e.getKey(), e.getValue().toType(DataType.FLOAT64, false).toDoubleArray());
            }
            return out;
        }
    }

    /**
     * Stacked members write, on a plain run's schedule, the checkpoint.safetensors of their plain run:
     * the same tensors (weights, the optimizer's state of that member, position, running sums) to
     * {@code tol}, but the sums' seconds.
     */
    private static void checkCheckpoints(List<String> common, List<String> members, long stopAfter, double tol, Path tmp)
            throws IOException {
        checkCheckpoints(common, members, stopAfter, tol, tmp, -1);
    }

    private static void checkCheckpoints(List<String> common, List<String> members, long stopAfter, double tol, Path tmp,
            int poisoned) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            List<Spec> specs = members.stream().map(s -> spec(common, s)).toList();
            Stack stack = stack(specs, m, poisoned);
            int[] written = new int[specs.size()];
            try (Trainer st = stack.trainer()) {
                st.run(List.of(writer(st, i -> {
                    written[i]++;
                    return tmp.resolve("stacked-" + i + ".safetensors");
                }), stopAfter(stopAfter)));
            }
            for (int i = 0; i < specs.size(); i++) {
                String who = "member " + i + " (" + members.get(i) + ")";
                assertTrue(written[i] >= (i == poisoned ? 1 : 2), who + " wrote " + written[i] + " checkpoints");
                Path plain = tmp.resolve("plain-" + i + ".safetensors");
                plainCheckpoint(specs.get(i), m, plain, stopAfter, i == poisoned);
                Map<String, double[]> expected = read(plain);
                Map<String, double[]> actual = read(tmp.resolve("stacked-" + i + ".safetensors"));
                assertEquals(expected.keySet(), actual.keySet(), who);
                for (Map.Entry<String, double[]> e : expected.entrySet()) {
                    double[] a = actual.get(e.getKey());
                    assertEquals(e.getValue().length, a.length, who + " " + e.getKey());
                    int n = e.getKey().equals("checkpoint.sums") ? a.length - 1 : a.length; // the last is seconds
                    for (int j = 0; j < n; j++) {
                        assertClose(e.getValue()[j], a[j], tol, who + " " + e.getKey() + "[" + j + "]");
                    }
                }
            }
        }
    }

    /** Fused Adam (one lr), per-member Adam (lr members), after whole epochs: the last epoch's checkpoint. */
    @ParameterizedTest
    @ValueSource(strings = {"penalty.lambda=0,penalty.lambda=1e-2 seed=3", "train.lr=0.01,train.lr=0.03 seed=2"})
    void aStackedMembersCheckpointIsItsPlainRunsCheckpoint(String members, @TempDir Path tmp) throws IOException {
        checkCheckpoints(List.of("penalty.lambda=1e-3"), List.of(members.split(",")), Long.MAX_VALUE, 1e-9, tmp);
    }

    /** SGD with momentum in minibatches, stopped within an epoch: the position and running sums of the cut epoch. */
    @Test
    void anInterruptedMinibatchMembersCheckpointContinuesItsEpoch(@TempDir Path tmp) throws IOException {
        checkCheckpoints(List.of("train.optimizer=sgd", "train.batch_size=32", "penalty.lambda=1e-3"),
                List.of("train.momentum=0.9 train.lr=0.05", "train.momentum=0.5 train.lr=0.02 seed=3 penalty.lambda=0"),
                14, 1e-9, tmp);
    }

    /**
     * The hand-over from the fused Adam update (one lr) to the per-member one when a member diverges
     * (its data poisoned: its loss overflows at the last step of epoch 1, after fused steps): the
     * others' rows, weights and checkpoints still equal their plain runs' in float64, and the
     * diverged member stops as its plain run does, keeping the network and checkpoint.safetensors
     * of its last good epoch (0).
     */
    @Test
    void whenAFusedAdamMemberDivergesTheOthersStillEqualTheirPlainRuns(@TempDir Path tmp) throws IOException {
        List<String> common = List.of("train.batch_size=24", "penalty.lambda=1e-3");
        List<String> members = List.of("seed=0", "penalty.lambda=1e-2 seed=1", "penalty.lambda=0 seed=2");
        Trainer.Result res = check(common, members, 1e-9, 1);
        assertEquals(List.of(StopReason.COMPLETED, StopReason.DIVERGED, StopReason.COMPLETED), res.reasons());
        assertEquals(0, res.epochsRun()[1], "no row for the epoch it diverged in");
        assertNull(res.lastRows().get(1));
        assertEquals(0, res.lastGoodEpoch()[1]);
        assertEquals(6 * 4, res.steps(), "4 steps an epoch");
        try (NDManager m = NDManager.newBaseManager()) {
            assertEquals(4, plain(spec(common, members.get(1)), m, true).result.steps(),
                    "the poisoned member's 3 fused steps and the one it diverged in");
        }
        checkCheckpoints(common, members, Long.MAX_VALUE, 1e-9, tmp, 1);
    }

    /**
     * Classification stacks: digits-like cross-entropy members (64 pixels, 10 classes, the
     * Hutchinson penalty of digits.yaml with its exact penalty every 2 epochs) with the fused Adam
     * update and with their own lr, each equal to its plain run, accuracies included.
     */
    @ParameterizedTest
    @ValueSource(strings = {"penalty.lambda=0,penalty.lambda=1e-2 seed=1", "train.lr=0.003,train.lr=0.01 seed=2"})
    void crossEntropyMembersEqualTheirPlainRuns(String members) {
        Trainer.Result res = check(List.of("config=configs/digits.yaml", "data.samples=200", "train.epochs=4",
                "train.batch_size=64", "penalty.exact_every=2"), List.of(members.split(",")), 1e-9);
        assertEquals(4, res.epochsRun()[1]);
        double acc = res.lastRows().get(1).trainAccuracy();
        assertTrue(acc > 0.1 && acc <= 1, "a train accuracy: " + acc);
    }

    /** nll of a log_softmax output (λ = 0; its Hessian norms from the replicated closed form). */
    @Test
    void nllMembersWithLogSoftmaxEqualTheirPlainRuns() {
        check(List.of("config=configs/mlp-nll.yaml", "data.samples=60"),
                List.of("train.lr=0.01", "train.lr=0.03 seed=1", "train.lr=0.01 seed=2"), 1e-9);
    }

    /**
     * The exact penalty where a plain run takes the closed form (d > 2): on digits (64 pixels, two
     * tanh layers, 10 classes) for the Frobenius norm, whose step gives the Hessian norms, and for
     * the trace, whose norms come from an evaluation after the epoch, as in a plain run.
     */
    @ParameterizedTest
    @ValueSource(strings = {"frobenius", "trace"})
    void closedFormExactPenaltyMembersEqualTheirPlainRuns(String norm) {
        Trainer.Result res = check(List.of("config=configs/digits.yaml", "data.samples=150", "train.epochs=3",
                "train.batch_size=64", "penalty={lambda: 0.01, norm: " + norm + ", method: exact}"),
                List.of("penalty.lambda=0.1", "penalty.lambda=1 seed=1", "train.lr=0.01 seed=2"), 1e-9);
        assertTrue(res.lastRows().get(1).penalty() > 0, "a penalty: " + res.lastRows().get(1).penalty());
    }

    /**
     * Every layer type stacks with the exact penalty through the replicated closed form: conv2d
     * with stride 2 and padding, a curved activation on its feature maps, flatten, and log_softmax
     * under nll (conv12's images, labels 0..4).
     */
    @Test
    void convolutionAndLogSoftmaxMembersWithAPenaltyEqualTheirPlainRuns() {
        Trainer.Result res = check(List.of("config=configs/conv12.yaml", "data.samples=8", "train.epochs=3", "loss=nll",
                "model.layers=[{type: conv2d, filters: 3, kernel: 3, stride: 2, padding: 1}, {type: tanh}, "
                        + "{type: flatten}, {type: linear, units: 5}, {type: log_softmax}]",
                "penalty={lambda: 0.01, norm: frobenius, method: exact}"),
                List.of("penalty.lambda=0.1", "penalty.lambda=1 seed=1"), 1e-9);
        assertTrue(res.lastRows().get(0).penalty() > 0, "a penalty: " + res.lastRows().get(0).penalty());
    }

    /**
     * Hutchinson's probes through the replicated closed form, for models without a replicated
     * Taylor pass: the conv2d → log_softmax members above with each norm's estimator, and mlp-nll's
     * log_softmax output with the trace; each equals its plain run, whose probes run through the
     * Taylor pass (the same directional second derivatives, the same probes).
     */
    @ParameterizedTest
    @ValueSource(strings = {"conv frobenius", "conv offdiagonal", "conv diagonal", "nll trace"})
    void hutchinsonMembersWithoutAReplicatedTaylorPassEqualTheirPlainRuns(String kind) {
        String norm = kind.split(" ")[1];
        String pen = "penalty={lambda: 0.01, norm: " + norm + ", method: hutchinson, probes: 2, exact_every: 2}";
        List<String> common = kind.startsWith("conv")
                ? List.of("config=configs/conv12.yaml", "data.samples=8", "train.epochs=3", "loss=nll",
                        "model.layers=[{type: conv2d, filters: 3, kernel: 3, stride: 2, padding: 1}, {type: tanh}, "
                                + "{type: flatten}, {type: linear, units: 5}, {type: log_softmax}]", pen)
                : List.of("config=configs/mlp-nll.yaml", "data.samples=60", "train.epochs=3", pen);
        Trainer.Result res = check(common, List.of("penalty.lambda=0.1", "penalty.lambda=1 seed=1"), 1e-9);
        assertTrue(res.lastRows().get(1).penalty() != 0, "a penalty: " + res.lastRows().get(1).penalty());
    }

    /**
     * d = 2 with a log_softmax inside: a plain run takes the Taylor pairs, the stack (which has no
     * replicated Taylor pass for log_softmax) the replicated closed form; the same Hessians.
     */
    @Test
    void twoInputsWithALogSoftmaxLayerStackThroughTheClosedForm() {
        Trainer.Result res = check(List.of("model.layers=[{type: linear, units: 6}, {type: tanh}, "
                + "{type: linear, units: 3}, {type: log_softmax}, {type: linear, units: 1}]",
                "penalty={lambda: 0.01, norm: frobenius, method: exact}"), List.of("penalty.lambda=0.1", "penalty.lambda=1 seed=1"), 1e-9);
        assertTrue(res.lastRows().get(0).penalty() > 0, "a penalty: " + res.lastRows().get(0).penalty());
    }

    /** A cross-entropy member stopped within an epoch: its checkpoint's running sums hold its correct count. */
    @Test
    void anInterruptedClassificationMembersCheckpointHoldsItsCorrectCount(@TempDir Path tmp) throws IOException {
        checkCheckpoints(List.of("config=configs/digits.yaml", "data.samples=200", "train.epochs=3", "train.batch_size=64",
                "penalty.exact_every=2"), List.of("penalty.lambda=0", "penalty.lambda=1e-2 seed=1"), 5, 1e-9, tmp);
    }
}
