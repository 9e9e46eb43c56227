package dev.hesstrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.data.Dataset;
import dev.hesstrain.data.Generator;
import dev.hesstrain.data.Seeds;
import dev.hesstrain.data.Split;
import dev.hesstrain.hessian.InputHessian;
import dev.hesstrain.model.Network;
import dev.hesstrain.runs.RunDirectory;
import dev.hesstrain.runs.RunSummary;
import dev.hesstrain.setup.Setup;
import dev.hesstrain.spec.Norm;
import dev.hesstrain.spec.Spec;
import dev.hesstrain.spec.SpecLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Training with the randomised (Hutchinson) penalty: it works, it is reproducible, it reports honestly. */
class HutchinsonTrainingTest {
    /** Progress of a TrainJob that prints nothing. */
    private static final TrainJob.Progress SILENT = new TrainJob.Progress() {
        @Override
        public void start(Spec s, RunDirectory r, int trainSamples, int validationSamples, long parameters, String device) {}

        @Override
        public void epoch(EpochMetrics m, int epochs) {}

        @Override
        public void finish() {}
    };


    /** The sin2pi model on four inputs (sin(2π x1 x2) + x3 x4), small enough for a test. */
    static Spec spec(String... overrides) {
        List<String> all = new ArrayList<>(List.of("data.generator=sin(2*pi*x1*x2) + x3*x4", "data.inputs=4",
                "data.samples=300", "train.batch_size=100", "train.checkpoint_every=1000"));
        all.addAll(List.of(overrides));
        return SpecLoader.load(Path.of("configs/sin2pi.yaml"), all);
    }

    /** Trains the spec's model and returns the exact mean norm of its input Hessian on the training set. */
    static double trainedNorm(Spec spec, Norm norm) {
        try (NDManager m = NDManager.newBaseManager()) {
            Split split = Split.split(Generator.generate(spec.data(), Seeds.data(spec.seed())), spec.data().validation(),
                    Seeds.split(spec.seed()));
            Network net = Setup.buildNetwork(spec, "test", split.train().d(), split.train().o(), 0, m);
            try (Trainer trainer = new Trainer(spec, net, split.train(), split.validation())) {
                assertEquals(StopReason.COMPLETED, TrainerTest.run(trainer).result.reason());
            }
            return meanNorm(net, split.train(), norm, m);
        }
    }

    static double meanNorm(Network net, Dataset d, Norm norm, NDManager m) {
        try (NDManager step = m.newSubManager(); InputHessian ih = new InputHessian(net)) {
            var x = step.create(d.x(), new Shape(d.n(), d.d())).toType(net.dtype(), false);
            return ih.norm(ih.taylor(x), norm).mean().toType(ai.djl.ndarray.types.DataType.FLOAT64, false).getDouble();
        }
    }

    /**
     * A short run with the estimated penalty lowers the exact norm well below that of the same run
     * with λ = 0 (same seed, same data, same initial weights), for every norm.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"frobenius", "trace", "diagonal", "offdiagonal"})
    void theEstimatedPenaltyLowersTheExactNorm(String norm) {
        String[] common = {"train.epochs=60", "penalty.norm=" + norm, "penalty.method=hutchinson",
                "penalty.probes=2", "penalty.exact_every=0"};
        double free = trainedNorm(spec(concat(common, "penalty.lambda=0")), Norm.parse(norm));
        double penalised = trainedNorm(spec(concat(common, "penalty.lambda=0.05")), Norm.parse(norm));
        assertTrue(free > 0, "the unpenalised model should be curved: " + free);
        assertTrue(penalised < 0.5 * free, norm + ": exact norm " + penalised + " with the penalty vs " + free + " without");
    }

    static String[] concat(String[] a, String... b) {
        String[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** Runs the whole job into a fresh run directory and returns the lines of metrics.csv. */
    static List<String> metrics(Spec spec, Path root, String name) throws IOException {
        RunDirectory run = RunDirectory.claim(root, spec.name(), root.resolve(name), RunDirectory.Mode.NEW);
        new TrainJob(spec, "test", Path.of("").toAbsolutePath()).run(run, SILENT, () -> null);
        return Files.readAllLines(run.file(RunDirectory.METRICS));
    }

    /** Everything but the last column (seconds). */
    static List<String> withoutSeconds(List<String> lines) {
        return lines.stream().map(l -> l.substring(0, l.lastIndexOf(','))).toList();
    }

    /**
     * The same seed gives the same metrics, seconds aside (the probes come from the seed); another
     * seed gives other ones. The exact penalty is reported every exact_every epochs, beside the
     * estimate, and the columns are empty on the other epochs.
     */
    @Test
    void metricsAreReproducibleAndTheExactPenaltyIsReportedOnSchedule(@TempDir Path root) throws IOException {
        String[] o = {"train.epochs=6", "penalty.lambda=0.01", "penalty.method=hutchinson", "penalty.probes=2",
                "penalty.exact_every=3"};
        List<String> a = metrics(spec(o), root, "a");
        List<String> b = metrics(spec(o), root, "b");
        List<String> c = metrics(spec(concat(o, "seed=1")), root, "c");
        assertEquals(withoutSeconds(a), withoutSeconds(b));
        assertNotEquals(withoutSeconds(a), withoutSeconds(c));
        assertEquals("epoch,train_mse,val_mse,penalty,penalty_exact,loss,hessian_fro_mean,hessian_fro_max,lr,seconds", a.get(0));
        for (int e = 1; e <= 6; e++) {
            String[] row = a.get(e).split(",", -1);
            boolean exactEpoch = e % 3 == 0;
            double estimate = Double.parseDouble(row[3]);
            assertTrue(Double.isFinite(estimate), a.get(e));
            for (int col : new int[] {4, 6, 7}) {
                assertEquals(exactEpoch, !row[col].isEmpty(), "epoch " + e + ", column " + col + ": " + a.get(e));
            }
            if (exactEpoch) {
                double exact = Double.parseDouble(row[4]);
                assertTrue(exact > 0 && Double.parseDouble(row[6]) > 0, a.get(e));
                // the estimate on the training batches and the exact value on the validation set agree
                // in magnitude (same λ, same norm)
                assertTrue(estimate > exact / 20 && estimate < exact * 20, "estimate " + estimate + " vs exact " + exact);
            }
        }
    }

    /** With penalty.exact_every = 0 the exact columns stay empty. */
    @Test
    void exactEveryZeroNeverComputesTheExactPenalty(@TempDir Path root) throws IOException {
        List<String> lines = metrics(spec("train.epochs=3", "penalty.lambda=0.01", "penalty.method=hutchinson",
                "penalty.exact_every=0"), root, "run");
        for (String line : lines.subList(1, lines.size())) {
            String[] row = line.split(",", -1);
            assertEquals(List.of("", "", ""), List.of(row[4], row[6], row[7]), line);
        }
    }

    /** Every array a step creates, the probes included, is freed with it. */
    @Test
    void stepsLeaveNoArraysBehind() {
        for (String norm : new String[] {"frobenius", "offdiagonal"}) {
            Spec spec = spec("train.epochs=12", "penalty.lambda=0.01", "penalty.method=hutchinson",
                    "penalty.norm=" + norm, "penalty.exact_every=4", "penalty.distribution=gaussian");
            try (NDManager m = NDManager.newBaseManager()) {
                Split split = Split.split(Generator.generate(spec.data(), Seeds.data(spec.seed())), spec.data().validation(),
                        Seeds.split(spec.seed()));
                Network net = Setup.buildNetwork(spec, "test", 4, 1, 0, m);
                List<Integer> live = TrainerTest.liveArraysAfterEachEpoch(
                        new Trainer(spec, net, split.train(), split.validation()), spec, m);
                assertEquals(live.get(3), live.get(11), norm + ": live arrays after epochs 4 and 12: " + live);
            }
        }
    }

    /** Classification runs report their accuracy in the summary. */
    @Test
    void classificationSummaryHasValidationAccuracy(@TempDir Path root) throws IOException {
        Spec spec = SpecLoader.parse("digits-small", String.join("\n",
                "name: digits-small",
                "data: {file: datasets/digits.csv, samples: 300}",
                "model: {layers: [{type: linear, units: 16}, {type: tanh}, {type: linear, units: 10}]}",
                "loss: cross_entropy",
                "penalty: {lambda: 0.001, method: hutchinson, probes: 2, exact_every: 0}",
                "train: {lr: 0.01, epochs: 20, batch_size: 64}"), List.of());
        RunDirectory run = RunDirectory.claim(root, spec.name(), root.resolve("nll"), RunDirectory.Mode.NEW);
        TrainJob.Outcome out = new TrainJob(spec, "test", Path.of("").toAbsolutePath()).run(run, SILENT, () -> null);
        RunSummary s = out.summary();
        double acc = s.valAccuracy();
        assertTrue(acc >= 0 && acc <= 1, "val_accuracy " + acc);
        assertTrue(s.trainAccuracy() > 0.3, "train_accuracy " + s.trainAccuracy());
        // issue 10: per-epoch accuracies in metrics.csv; the last epoch's validation accuracy is the
        // final one (the same weights), and the summary read back from the file is the one returned
        List<String> lines = Files.readAllLines(run.file(RunDirectory.METRICS));
        List<String> header = List.of(lines.get(0).split(","));
        assertEquals(List.of("epoch", "train_cross_entropy", "val_cross_entropy", "train_accuracy", "val_accuracy"),
                header.subList(0, 5));
        assertEquals(21, lines.size());
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",", -1);
            // shares of the 240 training and 60 validation rows; 4 steps an epoch: the validation
            // figures every 3 epochs (train.eval_every's default) and at the last
            int epoch = Integer.parseInt(f[0]);
            double train = Double.parseDouble(f[3]);
            assertTrue(train >= 0 && train <= 1 && Math.abs(train * 240 - Math.rint(train * 240)) < 1e-9, line);
            if (epoch % 3 != 0 && epoch != 20) {
                assertEquals("", f[2] + f[4], "not evaluated: " + line);
                continue;
            }
            double val = Double.parseDouble(f[4]);
            assertTrue(val >= 0 && val <= 1 && Math.abs(val * 60 - Math.rint(val * 60)) < 1e-9, line);
        }
        String[] last = lines.get(20).split(",");
        assertEquals(acc, Double.parseDouble(last[4]), 1e-12);
        assertEquals(s, RunSummary.read(run.file(RunDirectory.SUMMARY)));
    }
}
