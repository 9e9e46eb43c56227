package dev.hesstrain.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.hesstrain.data.Dataset;
import dev.hesstrain.data.Seeds;
import dev.hesstrain.data.Split;
import dev.hesstrain.hessian.HutchinsonNorm;
import dev.hesstrain.hessian.InputHessian;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Parameter;
import dev.hesstrain.model.Scopes;
import dev.hesstrain.spec.Norm;
import dev.hesstrain.spec.PenaltyMethod;
import dev.hesstrain.spec.PenaltySpec;
import dev.hesstrain.spec.Spec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The training loop. Every step runs in its own {@link NDManager}, so memory stays flat: the
 * parameters and constants are attached to it for the step, and everything the step creates is
 * freed with it. The penalty comes from the Taylor pass, which needs one plain backward pass.
 */
public final class Trainer {
    private static final Logger LOG = LogManager.getLogger(Trainer.class);
    /** Rows per chunk when evaluating whole datasets. */
    private static final int EVAL_CHUNK = 1024;
    /** Numbers in the largest array of one exact Hessian pass over a chunk (see InputHessian#rowsPerPass). */
    private static final long EXACT_PASS_ELEMENTS = 1L << 21;

    /** Receives progress; may stop the run and save checkpoints. */
    public interface Listener {
        void onEpoch(EpochMetrics metrics);

        /** Called at checkpoints with the current (finite) weights. */
        void onCheckpoint(int epoch);

        default void onStep(long step, double loss) {}
    }

    /** The outcome of a run. */
    public record Result(
            List<EpochMetrics> epochs, StopReason reason, int lastGoodEpoch, long steps, double[] stepMillis) {

        /** Median milliseconds of the steady-state steps (the first tenth, at least 5, skipped). */
        public double medianStepMillis() {
            if (stepMillis.length == 0) {
                return Double.NaN;
            }
            int skip = Math.min(stepMillis.length - 1, Math.max(5, stepMillis.length / 10));
            double[] s = Arrays.copyOfRange(stepMillis, skip, stepMillis.length);
            Arrays.sort(s);
            return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
        }
    }

    private final Spec spec;
    private final Network network;
    private final Dataset train;
    private final Dataset validation;
    private final Objective objective;
    private final InputHessian hessian;
    private final Optimizer optimizer;
    private final DataType dtype;
    private final long minCheckpointNanos;

    /**
     * The least time between two checkpoints, but for the last (end of the run, or interrupted):
     * a checkpoint due sooner is skipped. A checkpoint is two durable atomic writes (4 fsyncs,
     * ~4 ms on the reference machine); with epochs of a millisecond, checkpoints every 10 epochs
     * took longer than the training.
     */
    public static final double MIN_CHECKPOINT_SECONDS = 1.0;

    public Trainer(Spec spec, Network network, Dataset train, Dataset validation) {
        this(spec, network, train, validation, MIN_CHECKPOINT_SECONDS);
    }

    /** A trainer whose checkpoints are at least {@code minCheckpointSeconds} apart (0: every due one). */
    Trainer(Spec spec, Network network, Dataset train, Dataset validation, double minCheckpointSeconds) {
        this.minCheckpointNanos = (long) (minCheckpointSeconds * 1e9);
        this.spec = spec;
        this.network = network;
        this.train = train;
        this.validation = validation;
        this.dtype = network.dtype();
        this.hessian = new InputHessian(network);
        PenaltySpec p = spec.penalty();
        Norm norm = p.norm();
        if (p.method() == PenaltyMethod.HUTCHINSON) {
            HutchinsonNorm estimator =
                    new HutchinsonNorm(network, norm, p.probes(), p.distribution());
            this.objective = new Objective(network, spec.loss(), p.lambda(), norm, hessian, estimator,
                    new SplittableRandom(Seeds.probes(spec.seed())));
        } else {
            this.objective = new Objective(network, spec.loss(), p.lambda(), norm, hessian);
        }
        this.optimizer = new Optimizer(spec.train().optimizer(), spec.train().lr(),
                spec.train().momentum() == null ? 0 : spec.train().momentum(), network.parameters(),
                network.flatParameters());
    }

    /** Runs the epochs of the spec; {@code stop} is polled after every step. */
    public Result run(Listener listener, BooleanSupplier stop) {
        int epochs = spec.train().epochs();
        int batch = spec.train().batchSize() == null ? train.n() : Math.min(spec.train().batchSize(), train.n());
        boolean fullBatch = batch >= train.n();
        SplittableRandom shuffle = new SplittableRandom(Seeds.shuffle(spec.seed()));
        List<EpochMetrics> rows = new ArrayList<>();
        List<Double> millis = new ArrayList<>();
        StopReason reason = StopReason.COMPLETED;
        int lastGood = 0;
        long steps = 0;
        NDManager base = network.manager();
        try (NDManager data = base.newSubManager()) {
            NDArray xAll = data.create(train.x(), new Shape(train.n(), train.d())).toType(dtype, false);
            NDArray yAll = targets(data, train);
            listener.onCheckpoint(0); // the initial weights: a run that diverges at once still keeps a checkpoint
            long lastCheckpoint = System.nanoTime();
            epochLoop:
            for (int epoch = 1; epoch <= epochs; epoch++) {
                long epochStart = System.nanoTime();
                int[] order = Split.permutation(train.n(), fullBatch ? null : shuffle);
                double sumData = 0;
                double sumPenalty = 0;
                double sumLoss = 0;
                double sumFro = 0;
                double maxFro = 0;
                long froCount = 0;
                int seen = 0; // rows stepped on this epoch: all of them unless the run is stopped mid-epoch
                for (int start = 0; start < train.n(); start += batch) {
                    int end = Math.min(train.n(), start + batch);
                    long t0 = System.nanoTime();
                    double[] scalars;
                    try (NDManager step = base.newSubManager()) {
                        NDArray x;
                        NDArray y;
                        if (fullBatch) {
                            Scopes.tempAttach(step, xAll, yAll);
                            x = xAll;
                            y = yAll;
                        } else {
                            NDArray idx = step.create(Arrays.copyOfRange(order, start, end));
                            Scopes.tempAttach(step, xAll, yAll);
                            x = xAll.get(idx);
                            y = yAll.get(idx);
                        }
                        hessian.attach(step);
                        Objective.Values v;
                        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            v = objective.evaluate(x, y, objective.penalized());
                            gc.backward(v.total());
                        }
                        scalars = scalars(v);
                        if (!Double.isFinite(scalars[0])) {
                            LOG.warn("epoch {}: the loss is {}; stopping and keeping the checkpoint of epoch {}",
                                    epoch, scalars[0], lastGood);
                            reason = StopReason.DIVERGED;
                            optimizer.zeroGradients();
                            break epochLoop;
                        }
                        optimizer.step();
                    }
                    millis.add((System.nanoTime() - t0) / 1e6);
                    steps++;
                    int rowsInBatch = end - start;
                    sumLoss += scalars[0] * rowsInBatch;
                    sumData += scalars[1] * rowsInBatch;
                    sumPenalty += scalars[2] * rowsInBatch;
                    if (scalars.length > 3) {
                        sumFro += scalars[3] * rowsInBatch;
                        maxFro = Math.max(maxFro, scalars[4]);
                        froCount += rowsInBatch;
                    }
                    seen += rowsInBatch;
                    listener.onStep(steps, scalars[0]);
                    if (stop.getAsBoolean()) {
                        reason = StopReason.INTERRUPTED;
                        break; // after this step, even mid-epoch
                    }
                }
                double froMean;
                double penaltyExact = Double.NaN;
                if (objective.estimated()) {
                    // an estimated penalty: the exact one, and the Hessian norms, only on schedule
                    froMean = Double.NaN;
                    maxFro = Double.NaN;
                    int every = spec.penalty().exactEvery();
                    if (every > 0 && epoch % every == 0) {
                        Evaluation exact = evaluate(validation.n() > 0 ? validation : train);
                        penaltyExact = exact.penalty();
                        froMean = exact.hessianFroMean();
                        maxFro = exact.hessianFroMax();
                    }
                } else if (froCount > 0) {
                    froMean = sumFro / froCount;
                } else {
                    double[] fro = hessianNorms(train);
                    froMean = fro[0];
                    maxFro = fro[1];
                }
                double valLoss = evaluate(validation, false).data();
                EpochMetrics m = new EpochMetrics(epoch, sumData / seen, valLoss, sumPenalty / seen,
                        penaltyExact, sumLoss / seen, froMean, maxFro, (System.nanoTime() - epochStart) / 1e9);
                rows.add(m);
                listener.onEpoch(m);
                boolean last = epoch == epochs || reason == StopReason.INTERRUPTED;
                boolean due = epoch % spec.train().checkpointEvery() == 0
                        && System.nanoTime() - lastCheckpoint >= minCheckpointNanos;
                if (due || last) {
                    if (finiteParameters()) {
                        listener.onCheckpoint(epoch);
                        lastGood = epoch;
                        lastCheckpoint = System.nanoTime();
                    }
                }
                if (reason == StopReason.INTERRUPTED) {
                    LOG.warn("interrupted after epoch {}; the weights of epoch {} are saved", epoch, lastGood);
                    break;
                }
            }
        }
        double[] ms = millis.stream().mapToDouble(Double::doubleValue).toArray();
        return new Result(rows, reason, lastGood, steps, ms);
    }

    /**
     * Loss, data loss, penalty and, when computed, the mean and max Frobenius norm, read from
     * 0-d arrays after the backward pass, outside the gradient collector: no graph is recorded.
     */
    private static double[] scalars(Objective.Values v) {
        List<NDArray> parts = new ArrayList<>(List.of(v.total(), v.data(), v.penalty()));
        if (v.fro() != null) {
            NDArray fro = v.fro().sqrt();
            parts.add(fro.mean());
            parts.add(fro.max());
        }
        // one array, one copy to Java: each read of a 0-d array is a JNI round trip and a copy
        return NDArrays.stack(new NDList(parts)).toType(DataType.FLOAT64, false).toDoubleArray();
    }

    private boolean finiteParameters() {
        try (NDManager step = network.manager().newSubManager()) {
            network.attach(step);
            for (Parameter p : network.parameters()) {
                if (p.array().isInfinite().any().getBoolean() || p.array().isNaN().any().getBoolean()) {
                    return false;
                }
            }
        }
        return true;
    }

        private NDArray targets(NDManager m, Dataset d) {
        NDArray y = m.create(d.y(), new Shape(d.n(), d.o()));
        return spec.isClassification() ? y.reshape(d.n()).toType(DataType.INT64, false) : y.toType(dtype, false);
    }

    /**
     * Final figures of a dataset with the current weights: the exact penalty and Hessian norms, and
     * for classification losses the accuracy (NaN otherwise).
     */
    public record Evaluation(double data, double penalty, double hessianFroMean, double hessianFroMax, double accuracy) {

        public Evaluation(double data, double penalty, double hessianFroMean, double hessianFroMax) {
            this(data, penalty, hessianFroMean, hessianFroMax, Double.NaN);
        }
    }

    /**
     * Evaluates data loss, the exact penalty and Hessian norms (whatever the training method) and,
     * for classification, the accuracy on a whole dataset, in chunks, without gradients.
     */
    public Evaluation evaluate(Dataset d) {
        return evaluate(d, true);
    }

    private Evaluation evaluate(Dataset d, boolean curvature) {
        if (d.n() == 0) {
            return new Evaluation(Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        }
        double data = 0;
        double penalty = 0;
        double froSum = 0;
        double froMax = 0;
        long correct = 0;
        int chunk = curvature ? hessian.rowsPerPass(EXACT_PASS_ELEMENTS, EVAL_CHUNK) : EVAL_CHUNK;
        for (int start = 0; start < d.n(); start += chunk) {
            int end = Math.min(d.n(), start + chunk);
            try (NDManager step = network.manager().newSubManager()) {
                Dataset part = d.rows(range(start, end));
                NDArray x = step.create(part.x(), new Shape(part.n(), part.d())).toType(dtype, false);
                NDArray y = targets(step, part);
                hessian.attach(step);
                Objective.Values v = curvature ? objective.evaluateExact(x, y) : objective.evaluate(x, y, false);
                double[] s = scalars(v);
                int rows = end - start;
                data += s[1] * rows;
                penalty += s[2] * rows;
                if (curvature) {
                    froSum += s[3] * rows;
                    froMax = Math.max(froMax, s[4]);
                    if (spec.isClassification()) {
                        correct += v.output().argMax(1).eq(y).sum().toType(DataType.INT64, false).getLong();
                    }
                }
            }
        }
        double accuracy = curvature && spec.isClassification() ? (double) correct / d.n() : Double.NaN;
        return curvature
                ? new Evaluation(data / d.n(), penalty / d.n(), froSum / d.n(), froMax, accuracy)
                : new Evaluation(data / d.n(), Double.NaN, Double.NaN, Double.NaN);
    }

    private double[] hessianNorms(Dataset d) {
        Evaluation e = evaluate(d);
        return new double[] {e.hessianFroMean(), e.hessianFroMax()};
    }

    private static int[] range(int start, int end) {
        int[] r = new int[end - start];
        for (int i = 0; i < r.length; i++) {
            r[i] = start + i;
        }
        return r;
    }
}
