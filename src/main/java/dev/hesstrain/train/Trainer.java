package dev.hesstrain.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
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
import dev.hesstrain.model.Scopes;
import dev.hesstrain.spec.Norm;
import dev.hesstrain.spec.PenaltyMethod;
import dev.hesstrain.spec.PenaltySpec;
import dev.hesstrain.spec.Spec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
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

    /** The outcome of a run: the epochs run in this call, why it stopped, and the step times. */
    public record Result(List<EpochMetrics> epochs, StopReason reason, String detail, long steps, double[] stepMillis) {

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

    /** The state of the loop that listeners see, and the one thing they may do to it: stop it. */
    public static final class Loop {
        private final int epochs;
        private int epoch;
        private long steps;
        private boolean stopping;
        private StopReason reason = StopReason.COMPLETED;
        private String detail = StopReason.COMPLETED.description();

        Loop(int epochs, int epochsDone, long stepsDone) {
            this.epochs = epochs;
            this.epoch = epochsDone;
            this.steps = stepsDone;
        }

        /** The epochs of the spec. */
        public int epochs() {
            return epochs;
        }

        /** The current epoch, from 1. */
        public int epoch() {
            return epoch;
        }

        /** Steps taken so far, over the whole run. */
        public long steps() {
            return steps;
        }

        /** Whether a listener has stopped the run (it ends after the current step). */
        public boolean stopping() {
            return stopping;
        }

        public StopReason reason() {
            return reason;
        }

        /** Why, in words (e.g. which signal). */
        public String detail() {
            return detail;
        }

        /** Stops the run after the current step; the first stop's reason is kept. */
        public void stop(StopReason why, String words) {
            if (!stopping) {
                stopping = true;
                reason = why;
                detail = words;
            }
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
    private int epochsDone;
    private long stepsDone;
    /** Batches of epoch {@code epochsDone + 1} already stepped on, and their sums (a resumed run cut mid-epoch). */
    private int batchesDone;
    private Sums resumedSums;
    /** Where the running loop stands, for {@link #position}: set before each listener call that may checkpoint. */
    private Position position = new Position(0, 0, 0, new double[Sums.SIZE]);

    /**
     * Where a run stands, as a checkpoint records it: {@code epochs} whole epochs done, then
     * {@code batches} batches of the next one (0 at an epoch's end), {@code steps} steps in all,
     * and the running sums of that next epoch's figures (see {@link Sums}), so that a run resumed
     * from here continues the cut epoch to the same metrics row.
     */
    public record Position(int epochs, int batches, long steps, double[] sums) {
        public Position {
            if (epochs < 0 || batches < 0 || steps < 0 || sums.length != Sums.SIZE) {
                throw new IllegalArgumentException("not a position: epochs " + epochs + ", batches " + batches
                        + ", steps " + steps + ", " + sums.length + " sums");
            }
        }

        /** The epoch a checkpoint at this position is named after: the last whole one, or the one a stop cut. */
        public int checkpointEpoch() {
            return batches > 0 ? epochs + 1 : epochs;
        }
    }

    /** An epoch's running sums of its steps' figures, and the seconds it has taken. */
    static final class Sums {
        static final int SIZE = 9;
        double data;
        double penalty;
        double loss;
        double fro;
        double maxFro;
        long froCount;
        double correct;
        int seen;
        double seconds;

        double[] toArray() {
            return new double[] {data, penalty, loss, fro, maxFro, froCount, correct, seen, seconds};
        }

        static Sums of(double[] a) {
            Sums s = new Sums();
            s.data = a[0];
            s.penalty = a[1];
            s.loss = a[2];
            s.fro = a[3];
            s.maxFro = a[4];
            s.froCount = (long) a[5];
            s.correct = a[6];
            s.seen = (int) a[7];
            s.seconds = a[8];
            return s;
        }
    }

    /**
     * The least time between two checkpoints, but for the last (end of the run, or interrupted):
     * a checkpoint due sooner is skipped. A checkpoint is two durable atomic writes (4 fsyncs,
     * ~4 ms on the reference machine); with epochs of a millisecond, checkpoints every 10 epochs
     * took longer than the training.
     */
    public static final double MIN_CHECKPOINT_SECONDS = 1.0;

    public Trainer(Spec spec, Network network, Dataset train, Dataset validation) {
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

    /** The network trained. */
    public Network network() {
        return network;
    }

    /** The optimizer, whose state a checkpoint saves and a resumed run restores. */
    public Optimizer optimizer() {
        return optimizer;
    }

    /** Continues a run after {@code epochs} finished epochs and {@code steps} steps (the weights and optimizer state restored). */
    public Trainer resumeAfter(int epochs, long steps) {
        return resumeAt(new Position(epochs, 0, steps, new double[Sums.SIZE]));
    }

    /**
     * Continues a run from a checkpoint's position (the weights and optimizer state restored by the
     * caller): the next epoch starts at batch {@code p.batches()} with the sums of the batches
     * before it, so its metrics row is that of an uninterrupted run.
     */
    public Trainer resumeAt(Position p) {
        this.epochsDone = p.epochs();
        this.stepsDone = p.steps();
        this.batchesDone = p.batches();
        this.resumedSums = p.batches() > 0 ? Sums.of(p.sums()) : null;
        this.position = p;
        return this;
    }

    /**
     * Where the loop stands, for a checkpoint written by a listener: after the last whole epoch, or
     * (when a stop cut an epoch short) within the epoch, with its sums.
     */
    public Position position() {
        return position;
    }

    /**
     * Runs the remaining epochs of the spec, calling the listeners in order. Each epoch's minibatch
     * order comes from a stream derived from (seed, epoch) and each step's probes from one derived
     * from (seed, step), so that a resumed run continues exactly as an uninterrupted one.
     */
    public Result run(List<? extends TrainingListener> listeners) {
        int epochs = spec.train().epochs();
        int batch = spec.train().batchSize() == null ? train.n() : Math.min(spec.train().batchSize(), train.n());
        boolean fullBatch = batch >= train.n();
        List<EpochMetrics> rows = new ArrayList<>();
        List<Double> millis = new ArrayList<>();
        Loop loop = new Loop(epochs, epochsDone, stepsDone);
        NDManager base = network.manager();
        try (NDManager data = base.newSubManager()) {
            NDArray xAll = data.create(train.x(), new Shape(train.n(), train.d())).toType(dtype, false);
            NDArray yAll = targets(data, train);
            listeners.forEach(l -> l.onTrainingBegin(loop));
            epochLoop:
            for (int epoch = epochsDone + 1; epoch <= epochs && !loop.stopping(); epoch++) {
                loop.epoch = epoch;
                boolean continued = epoch == epochsDone + 1 && resumedSums != null;
                Sums sum = continued ? resumedSums : new Sums(); // seen: rows stepped on, all unless stopped mid-epoch
                int firstBatch = continued ? batchesDone : 0;
                long epochStart = System.nanoTime() - (long) (sum.seconds * 1e9);
                int[] order = Split.permutation(train.n(),
                        fullBatch ? null : new SplittableRandom(Seeds.derive(Seeds.shuffle(spec.seed()), epoch)));
                int batches = firstBatch;
                int start;
                for (start = firstBatch * batch; start < train.n() && !loop.stopping(); start += batch) {
                    int end = Math.min(train.n(), start + batch);
                    long t0 = System.nanoTime();
                    StepFigures f;
                    try (NDManager step = base.newSubManager()) {
                        NDArray x;
                        NDArray y;
                        if (fullBatch) {
                            Scopes.tempAttach(step, xAll, yAll);
                            x = xAll;
                            y = yAll;
                        } else {
                            long[] rowsOf = new long[end - start]; // int64, the index type: no conversion per gather
                            for (int i = start; i < end; i++) {
                                rowsOf[i - start] = order[i];
                            }
                            NDArray idx = step.create(rowsOf);
                            Scopes.tempAttach(step, xAll, yAll);
                            x = xAll.get(idx);
                            y = yAll.get(idx);
                        }
                        hessian.attach(step);
                        objective.reseedProbes(new SplittableRandom(Seeds.derive(Seeds.probes(spec.seed()), loop.steps)));
                        Objective.Values v;
                        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            v = objective.evaluate(x, y, objective.penalized());
                            gc.backward(v.total());
                        }
                        f = StepFigures.read(v, end - start, spec.isClassification() ? y : null);
                        for (TrainingListener l : listeners) {
                            l.onBatch(loop, f);
                        }
                        if (loop.reason() == StopReason.DIVERGED) {
                            optimizer.zeroGradients();
                            break epochLoop; // no update, no metrics row for this epoch
                        }
                        optimizer.step();
                    }
                    millis.add((System.nanoTime() - t0) / 1e6);
                    loop.steps++;
                    batches++;
                    sum.loss += f.loss() * f.rows();
                    sum.data += f.data() * f.rows();
                    sum.penalty += f.penalty() * f.rows();
                    if (f.hasNorms()) {
                        sum.fro += f.froMean() * f.rows();
                        sum.maxFro = Math.max(sum.maxFro, f.froMax());
                        sum.froCount += f.rows();
                    }
                    sum.seen += f.rows();
                    sum.correct += spec.isClassification() ? f.correct() : 0;
                    for (TrainingListener l : listeners) {
                        l.onStepEnd(loop, f);
                    }
                }
                sum.seconds = (System.nanoTime() - epochStart) / 1e9;
                // a checkpoint written by the listeners below records this: after the epoch, or within it
                position = start < train.n()
                        ? new Position(epoch - 1, batches, loop.steps, sum.toArray())
                        : new Position(epoch, 0, loop.steps, new double[Sums.SIZE]);
                int seen = sum.seen;
                double maxFro = sum.maxFro;
                double froMean;
                double penaltyExact = Double.NaN;
                double trainAccuracy = spec.isClassification() ? sum.correct / seen : Double.NaN;
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
                } else if (sum.froCount > 0) {
                    froMean = sum.fro / sum.froCount;
                } else {
                    double[] fro = hessianNorms(train);
                    froMean = fro[0];
                    maxFro = fro[1];
                }
                Evaluation val = evaluate(validation, false);
                EpochMetrics m = new EpochMetrics(epoch, sum.data / seen, val.data(), sum.penalty / seen,
                        penaltyExact, sum.loss / seen, froMean, maxFro, trainAccuracy, val.accuracy(),
                        (System.nanoTime() - epochStart) / 1e9);
                rows.add(m);
                for (TrainingListener l : listeners) {
                    l.onEpoch(loop, m);
                }
            }
            listeners.forEach(l -> l.onTrainingEnd(loop));
        }
        double[] ms = millis.stream().mapToDouble(Double::doubleValue).toArray();
        return new Result(rows, loop.reason(), loop.detail(), loop.steps(), ms);
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
                StepFigures s = StepFigures.read(v, end - start, spec.isClassification() ? y : null);
                int rows = s.rows();
                data += s.data() * rows;
                penalty += s.penalty() * rows;
                if (curvature) {
                    froSum += s.froMean() * rows;
                    froMax = Math.max(froMax, s.froMax());
                }
                if (spec.isClassification()) {
                    correct += Math.round(s.correct());
                }
            }
        }
        double accuracy = spec.isClassification() ? (double) correct / d.n() : Double.NaN;
        return curvature
                ? new Evaluation(data / d.n(), penalty / d.n(), froSum / d.n(), froMax, accuracy)
                : new Evaluation(data / d.n(), Double.NaN, Double.NaN, Double.NaN, accuracy);
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
