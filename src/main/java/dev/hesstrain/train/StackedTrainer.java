package dev.hesstrain.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.hesstrain.data.Dataset;
import dev.hesstrain.data.Seeds;
import dev.hesstrain.data.Split;
import dev.hesstrain.hessian.ClosedForm;
import dev.hesstrain.hessian.HutchinsonNorm;
import dev.hesstrain.hessian.InputHessian;
import dev.hesstrain.model.Loss;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Pairs;
import dev.hesstrain.model.Parameter;
import dev.hesstrain.model.Scopes;
import dev.hesstrain.model.Taylor;
import dev.hesstrain.model.Torch;
import dev.hesstrain.spec.Norm;
import dev.hesstrain.spec.OptimizerKind;
import dev.hesstrain.spec.PenaltyMethod;
import dev.hesstrain.spec.PenaltySpec;
import dev.hesstrain.spec.Spec;
import dev.hesstrain.spec.TrainSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * R members that share their structure trained as ONE stacked tensor program: their parameters
 * sit on a leading member axis, Θ [R, P], and every op of a step serves all of them, through the
 * network's replicated passes ({@link Network#forward(NDArray, List)}, {@link
 * Network#taylor(NDArray, NDArray, Pairs, List)}). Each member keeps its own λ, learning rate,
 * momentum and seed, and so its own data, initial weights, split, minibatch order and probes:
 * member r's per-epoch metrics equal those of {@link Trainer} on member r's spec, network and
 * data, to float tolerance (tested).
 *
 * <p>Adam and SGD with momentum follow PyTorch's update rules ({@code torch.optim.Adam}, {@code
 * SGD}), written with array ops so that the learning rate and momentum are [R] arrays (the
 * engine's fused update takes one scalar learning rate).
 *
 * <p>A member whose loss turns NaN or infinite stops alone: its parameters are restored to its
 * last good checkpoint and frozen (its updates are masked), it gets no more metrics rows, and the
 * others go on. Each member's {@link Network} (given by the caller, built from that member's seed)
 * holds the member's weights of its latest checkpoint: {@link Listener#onCheckpoint} is the moment
 * to write them, and the member's checkpoint.safetensors ({@link #writeCheckpoint}), as the
 * checkpoint listener ({@link Checkpoints}) is for one run.
 *
 * <p>Members must agree on everything but λ, lr, momentum and seed ({@link #incompatibility}).
 * The exact penalty runs on the replica axis: the closed form ({@link Network#curvature(NDArray,
 * NDArray, NDArray, List)}), as a plain run takes it ({@link InputHessian}), or up to d = {@link
 * #TAYLOR_MAX_INPUTS} the Taylor pairs ({@link Network#taylor(NDArray, NDArray, Pairs, List)});
 * Hutchinson's probes run
 * through the replicated Taylor pass. A model without that pass (conv2d, flatten, log_softmax)
 * takes the replicated closed form for both (along the probes for Hutchinson: the same
 * directional second derivatives), so every layer type stacks ({@link #penaltyRefused}).
 */
public final class StackedTrainer implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(StackedTrainer.class);
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    /**
     * Up to this many inputs the exact penalty on the replica axis takes the replicated Taylor pairs
     * (d² of them), where a plain run takes the closed form: the replicated closed form runs
     * row-major (its products batched over replicas and samples), which at d = 2 costs twice the
     * pairs. 4 sin2pi members, 300 epochs, stacked ms per step in alternating sweeps: 2.8-3.6 with
     * the pairs, 5.4-7.0 with the closed form.
     */
    static final int TAYLOR_MAX_INPUTS = 2;
    private static final double EPS = 1e-8;
    private static final int EVAL_CHUNK = 1024;
    private static final long EXACT_PASS_ELEMENTS = 1L << 21;

    /** Receives progress of all members. */
    public interface Listener {
        /** Member {@code member}'s metrics row of an epoch (members that stopped get none). */
        void onEpoch(int member, EpochMetrics metrics);

        /**
         * The networks of {@code members} now hold their weights of {@code epoch} (finite): write
         * them. Epoch 0 is the initial weights, for every member.
         */
        void onCheckpoint(int epoch, List<Integer> members);

        /** Member {@code member} diverged in {@code epoch}; its network keeps the weights of {@code lastGood}. */
        default void onDiverged(int member, int epoch, int lastGood) {}

        /** After each stacked step (one step of every running member). */
        default void onStep(long step) {}
    }

    /**
     * The outcome: per member how many epochs got a metrics row, its last row (null when none), its
     * stop reason and last checkpointed epoch. The rows themselves go to {@link Listener#onEpoch}
     * and are not kept: a sweep of many members and epochs stays flat.
     */
    public record Result(int[] epochsRun, List<EpochMetrics> lastRows, List<StopReason> reasons, int[] lastGoodEpoch,
            long steps, double[] stepMillis) {

        /** Median milliseconds of the steady-state stacked steps (the first tenth, at least 5, skipped). */
        public double medianStepMillis() {
            return new Trainer.Result(List.of(), StopReason.COMPLETED, "", steps, stepMillis).medianStepMillis();
        }
    }

    private final List<Spec> specs;
    private final List<Network> nets;
    private final List<Dataset> train;
    private final List<Dataset> validation;
    private final int r;
    private final Network template;
    private final NDManager manager;
    private final DataType dtype;
    private final boolean classification;
    private final PenaltySpec penalty;
    private final Norm norm;
    private final TrainSpec trainSpec;
    private final boolean adam;
    private final boolean curvature;
    private final double minCheckpointNanos;
    /** Θ [R, P], all members' parameters; {@link #views} are its per-parameter views [R, shape...], the leaves. */
    private final NDArray theta;
    private final List<NDArray> views = new ArrayList<>();
    private final NDArray state1;
    private final NDArray state2;
    private final double[] lambdas;
    private final NDArray lambda;
    private final NDArray lr;
    /** Adam with one learning rate for every member: the engine's fused update serves Θ while all run. */
    private final boolean fusedAdam;
    private final NDArray momentum;
    private final InputHessian hessian;
    private final NDArray eye;
    private final HutchinsonNorm estimator;
    private final boolean[] active;
    private long t;
    /**
     * Where each member stands for the checkpoint being written ({@link #writeCheckpoint}), as a
     * plain run's {@link Trainer#position()}: set before each {@link Listener#onCheckpoint}.
     */
    private Trainer.Position[] positions;
    /** Where every member continues ({@link #resume}), or null for a fresh start. */
    private Trainer.Position resumed;
    /** Each member's running sums of the cut epoch it continues ({@link #resume}). */
    private final double[][] resumedSums;
    /**
     * Whether the exact norms come from the replicated closed form: beyond d = {@link
     * #TAYLOR_MAX_INPUTS} (unless the Taylor pass is asked for), and where the model has no
     * replicated Taylor pass (conv2d, flatten, log_softmax).
     */
    private final boolean closedForm;

    /**
     * @param specs the members' resolved specs
     * @param nets each member's network, initialised from its own seed (as {@code setup.Setup} builds it);
     *     it receives the member's checkpointed weights
     * @param train each member's training set (from its own seed and split)
     * @param validation each member's validation set
     */
    public StackedTrainer(List<Spec> specs, List<Network> nets, List<Dataset> train, List<Dataset> validation) {
        this(specs, nets, train, validation, Trainer.MIN_CHECKPOINT_SECONDS);
    }

    /** A trainer whose checkpoints are at least {@code minCheckpointSeconds} apart (0: every due one). */
    public StackedTrainer(List<Spec> specs, List<Network> nets, List<Dataset> train, List<Dataset> validation,
            double minCheckpointSeconds) {
        String why = incompatibility(specs);
        if (why != null) {
            throw new IllegalArgumentException("these members cannot train stacked: " + why);
        }
        if (nets.size() != specs.size() || train.size() != specs.size() || validation.size() != specs.size()) {
            throw new IllegalArgumentException("one network, training set and validation set per member");
        }
        this.specs = List.copyOf(specs);
        this.nets = List.copyOf(nets);
        this.train = List.copyOf(train);
        this.validation = List.copyOf(validation);
        this.r = specs.size();
        this.template = nets.get(0);
        this.dtype = template.dtype();
        Spec first = specs.get(0);
        this.classification = first.isClassification();
        this.penalty = first.penalty();
        this.norm = penalty.norm();
        this.trainSpec = first.train();
        this.adam = trainSpec.optimizer() == OptimizerKind.ADAM;
        this.minCheckpointNanos = minCheckpointSeconds * 1e9;
        for (int i = 0; i < r; i++) {
            Network n = nets.get(i);
            if (n.flatParameters() == null || n.parameterCount() != template.parameterCount() || n.dtype() != dtype) {
                throw new IllegalArgumentException("member " + i + "'s network does not match member 0's");
            }
            Dataset a = train.get(i);
            Dataset b = validation.get(i);
            if (a.n() != train.get(0).n() || b.n() != validation.get(0).n() || a.d() != template.inputs()
                    || b.d() != a.d() || a.o() != train.get(0).o()) {
                throw new IllegalArgumentException("member " + i + "'s data do not have member 0's sizes");
            }
        }
        if (!template.replicable()) {
            throw new IllegalArgumentException("the model has a layer without a replicated pass");
        }
        this.lambdas = specs.stream().mapToDouble(s -> s.penalty().lambda()).toArray();
        this.curvature = Arrays.stream(lambdas).anyMatch(l -> l > 0);
        String refused = curvature ? penaltyRefused(template) : null;
        if (refused != null) {
            throw new IllegalArgumentException(refused);
        }
        this.manager = template.manager().newSubManager();
        this.active = new boolean[r];
        this.resumedSums = new double[r][];
        Arrays.fill(active, true);
        NDList rows = new NDList();
        for (Network n : nets) {
            rows.add(n.flatParameters());
        }
        this.theta = NDArrays.stack(rows);
        theta.attach(manager);
        long offset = 0;
        for (Parameter p : template.parameters()) {
            Shape shape = p.array().getShape();
            NDArray slice = theta.get(new NDIndex(":, " + offset + ":" + (offset + shape.size())));
            NDArray view = slice.reshape(new Shape(r).addAll(shape));
            slice.close(); // the view keeps Θ's memory
            view.setRequiresGradient(true);
            views.add(view);
            offset += shape.size();
        }
        this.state1 = theta.zerosLike();
        this.state2 = adam ? theta.zerosLike() : null;
        this.lambda = column(lambdas);
        this.lr = column(specs.stream().mapToDouble(s -> (float) (double) s.train().lr()).toArray());
        this.fusedAdam = adam && specs.stream().allMatch(sp -> sp.train().lr().equals(trainSpec.lr()));
        this.momentum = column(specs.stream()
                .mapToDouble(s -> s.train().momentum() == null ? 0 : (float) (double) s.train().momentum()).toArray());
        this.hessian = new InputHessian(template);
        this.closedForm = !template.replicatedTaylor()
                || (hessian.method() == InputHessian.Method.CLOSED_FORM && template.inputs() > TAYLOR_MAX_INPUTS);
        this.eye = manager.eye(template.inputs()).toType(dtype, false).expandDims(1);
        this.estimator = penalty.method() == PenaltyMethod.HUTCHINSON
                ? new HutchinsonNorm(template, norm, penalty.probes(), penalty.distribution())
                : null;
    }

    /**
     * Why a stacked penalty cannot run on {@code net}'s replica axis, or null when it can: the
     * replicated Taylor pass needs flat inputs, dense layers and elementwise activations ({@link
     * Network#replicatedTaylor()}), the replicated closed form ({@link Network#curvature(NDArray,
     * NDArray, NDArray, List)}) layers with the sandwich structure, which every layer type has.
     */
    public static String penaltyRefused(Network net) {
        if (net.replicatedTaylor() || net.firstWithoutCurvature() < 0) {
            return null;
        }
        int i = net.firstWithoutCurvature();
        return "λ > 0 and layer " + i + " (" + net.layers().get(i).getClass().getSimpleName()
                + ") has neither a replicated Taylor pass nor a closed form";
    }

    /** [R] values as an [R, 1] array of the model's dtype, in this trainer's manager. */
    private NDArray column(double[] v) {
        return manager.create(v, new Shape(v.length, 1)).toType(dtype, false);
    }

    /**
     * Why {@code specs} cannot train as one stacked program, or null when they can: they must agree
     * on everything but {@code penalty.lambda}, {@code train.lr}, {@code train.momentum} and {@code
     * seed} (and {@code name}). Members that differ otherwise form separate groups.
     */
    public static String incompatibility(List<Spec> specs) {
        if (specs.isEmpty()) {
            return "no members";
        }
        Spec a = specs.get(0);
        for (int i = 1; i < specs.size(); i++) {
            Spec b = specs.get(i);
            String field = null;
            if (!Objects.equals(a.model(), b.model())) {
                field = "model";
            } else if (!Objects.equals(a.dtype(), b.dtype())) {
                field = "dtype";
            } else if (!Objects.equals(a.loss(), b.loss())) {
                field = "loss";
            } else if (!Objects.equals(a.data(), b.data())) {
                field = "data";
            } else if (!Objects.equals(withLambda(a.penalty(), 0), withLambda(b.penalty(), 0))) {
                field = "penalty";
            } else if (!a.train().optimizer().equals(b.train().optimizer())
                    || !Objects.equals(a.train().epochs(), b.train().epochs())
                    || !Objects.equals(a.train().batchSize(), b.train().batchSize())
                    || !Objects.equals(a.train().checkpointEvery(), b.train().checkpointEvery())) {
                field = "train";
            }
            if (field != null) {
                return "member " + i + " differs from member 0 in " + field;
            }
        }
        return null;
    }

    private static PenaltySpec withLambda(PenaltySpec p, double lambda) {
        return new PenaltySpec(lambda, p.norm(), p.method(), p.probes(), p.distribution(), p.exactEvery());
    }

    /**
     * Continues every member from its checkpoint.safetensors, as {@code train --resume} continues
     * one run ({@link CheckpointFile#restore}): weights, optimizer state, update count and position,
     * so that the rows that follow are those of an uninterrupted run. The checkpoints must stand at
     * one position (a stacked program checkpoints its members together). Call before {@link #run}.
     *
     * @param files member i's checkpoint, in member order
     * @return where the members continue
     * @throws IOException naming a checkpoint that cannot be read, does not match its member's spec,
     *     or stands elsewhere than member 0's
     */
    public Trainer.Position resume(List<java.nio.file.Path> files) throws java.io.IOException {
        if (files.size() != r) {
            throw new IllegalArgumentException(files.size() + " checkpoints for " + r + " members");
        }
        Trainer.Position at = null;
        long updates = 0;
        for (int i = 0; i < r; i++) {
            Network net = nets.get(i);
            TrainSpec ts = specs.get(i).train();
            Optimizer opt = new Optimizer(ts.optimizer(), ts.lr(), ts.momentum() == null ? 0 : ts.momentum(),
                    net.parameters(), net.flatParameters());
            CheckpointFile.Saved saved = CheckpointFile.restore(files.get(i), net, opt);
            Trainer.Position p = saved.position();
            if (at == null) {
                at = p;
                updates = saved.updates();
            } else if (p.epochs() != at.epochs() || p.batches() != at.batches() || p.steps() != at.steps()
                    || saved.updates() != updates) {
                throw new java.io.IOException(files.get(i) + " stands at epoch " + p.epochs() + ", batch " + p.batches()
                        + ", step " + p.steps() + ", but " + files.get(0) + " at epoch " + at.epochs() + ", batch "
                        + at.batches() + ", step " + at.steps());
            }
            try (NDManager step = manager.newSubManager()) {
                Scopes.tempAttach(step, theta, state1, state2);
                NDIndex row = new NDIndex(String.valueOf(i));
                theta.set(row, net.flatParameters());
                Map<String, NDArray> state = opt.state();
                state1.set(row, state.get("optimizer.m.0"));
                if (adam) {
                    state2.set(row, state.get("optimizer.v.0"));
                }
            }
            resumedSums[i] = p.sums();
        }
        t = updates;
        resumed = at;
        return at;
    }

    /** Runs every member's epochs; {@code stop} is polled after every stacked step. */
    public Result run(Listener listener, BooleanSupplier stop) {
        int epochs = trainSpec.epochs();
        int n = train.get(0).n();
        int d = template.inputs();
        int batch = trainSpec.batchSize() == null ? n : Math.min(trainSpec.batchSize(), n);
        boolean fullBatch = batch >= n;
        int[] epochsRun = new int[r];
        EpochMetrics[] lastRows = new EpochMetrics[r];
        StopReason[] reasons = new StopReason[r];
        Arrays.fill(reasons, StopReason.COMPLETED);
        int[] lastGood = new int[r];
        List<Double> millis = new ArrayList<>();
        long steps = resumed == null ? 0 : resumed.steps();
        // a resumed run continues after its checkpoint: whole epochs done, then batches of the next
        int epochsDone = resumed == null ? 0 : resumed.epochs();
        int batchesDone = resumed == null ? 0 : resumed.batches();
        if (resumed != null) {
            Arrays.fill(lastGood, resumed.checkpointEpoch());
            Arrays.fill(epochsRun, epochsDone); // the rows before the checkpoint, as a resumed plain run counts them
        }
        boolean interrupted = false;
        try (NDManager data = manager.newSubManager()) {
            NDArray xAll = inputs(data, train);
            NDArray yAll = targets(data, train);
            NDArray xFlat = xAll.reshape(r * (long) n, d);
            NDArray yFlat = yAll.reshape(new Shape(r * (long) n).addAll(yAll.getShape().slice(2)));
            positions = new Trainer.Position[r];
            if (resumed == null) {
                Arrays.fill(positions, new Trainer.Position(0, 0, 0, new double[Trainer.Sums.SIZE]));
                listener.onCheckpoint(0, running());
            } else {
                Arrays.fill(positions, resumed);
            }
            long lastCheckpoint = System.nanoTime();
            for (int epoch = epochsDone + 1; epoch <= epochs && anyActive(); epoch++) {
                boolean continued = epoch == epochsDone + 1 && batchesDone > 0;
                long epochStart = System.nanoTime() - (continued ? (long) (Trainer.Sums.of(resumedSums[0]).seconds * 1e9) : 0);
                int[][] orders = new int[r][];
                for (int i = 0; i < r; i++) {
                    // the streams of Trainer: an epoch's order from (seed, epoch), a step's probes from (seed, step)
                    orders[i] = Split.permutation(n, fullBatch ? null
                            : new SplittableRandom(Seeds.derive(Seeds.shuffle(specs.get(i).seed()), epoch)));
                }
                double[][] sums = new double[r][5]; // loss, data, penalty, fro, correct (classification)
                double[] maxFro = new double[r];
                long froCount = 0;
                int seen = 0;
                int batches = 0;
                if (continued) { // the cut epoch's sums, from each member's checkpoint (see cutSums)
                    for (int i = 0; i < r; i++) {
                        Trainer.Sums c = Trainer.Sums.of(resumedSums[i]);
                        sums[i] = new double[] {c.loss, c.data, c.penalty, c.fro, c.correct};
                        maxFro[i] = c.maxFro;
                        froCount = Math.max(froCount, c.froCount); // 0 for a member without λ
                        seen = c.seen;
                    }
                    batches = batchesDone;
                }
                boolean[] divergedNow = new boolean[r];
                int start;
                for (start = continued ? batchesDone * batch : 0; start < n; start += batch) {
                    int end = Math.min(n, start + batch);
                    int b = end - start;
                    long t0 = System.nanoTime();
                    double[] s;
                    try (NDManager step = manager.newSubManager()) {
                        NDArray x;
                        NDArray y;
                        Scopes.tempAttach(step, xAll, yAll, xFlat, yFlat);
                        if (fullBatch) {
                            x = xAll;
                            y = yAll;
                        } else {
                            long[] idx = new long[r * b];
                            for (int i = 0; i < r; i++) {
                                for (int j = 0; j < b; j++) {
                                    idx[i * b + j] = (long) i * n + orders[i][start + j];
                                }
                            }
                            NDArray index = step.create(idx);
                            x = xFlat.get(index).reshape(r, b, d);
                            y = yFlat.get(index);
                            y = y.reshape(new Shape(r, b).addAll(y.getShape().slice(1)));
                        }
                        attach(step);
                        NDArray dirs = null;
                        if (curvature && estimator != null) {
                            NDList parts = new NDList();
                            for (int i = 0; i < r; i++) {
                                parts.add(estimator.directions(step, b,
                                        new SplittableRandom(Seeds.derive(Seeds.probes(specs.get(i).seed()), steps)).split()));
                            }
                            dirs = NDArrays.stack(parts);
                        }
                        Values v;
                        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            v = evaluate(x, y, curvature, curvature && hessian.frobeniusIsCheap(norm), dirs);
                            gc.backward(v.total().sum());
                        }
                        s = v.read();
                        boolean[] ok = new boolean[r];
                        for (int i = 0; i < r; i++) {
                            ok[i] = Double.isFinite(s[i]);
                            if (active[i] && !ok[i]) {
                                LOG.warn("member {}, epoch {}: the loss is {}; stopping it and keeping the checkpoint "
                                        + "of epoch {}", i, epoch, s[i], lastGood[i]);
                                divergedNow[i] = true;
                                reasons[i] = StopReason.DIVERGED;
                                active[i] = false;
                                listener.onDiverged(i, epoch, lastGood[i]);
                            }
                        }
                        update(step);
                        for (int i = 0; i < r; i++) {
                            if (divergedNow[i]) {
                                restore(i);
                            }
                        }
                    }
                    millis.add((System.nanoTime() - t0) / 1e6);
                    steps++;
                    boolean norms = s.length - (classification ? r : 0) > 3 * r;
                    for (int i = 0; i < r; i++) {
                        sums[i][0] += s[i] * b;
                        sums[i][1] += s[r + i] * b;
                        sums[i][2] += s[2 * r + i] * b;
                        if (norms) {
                            sums[i][3] += s[3 * r + i] * b;
                            maxFro[i] = Math.max(maxFro[i], s[4 * r + i]);
                        }
                        if (classification) {
                            sums[i][4] += s[s.length - r + i];
                        }
                    }
                    if (norms) {
                        froCount += b;
                    }
                    seen += b;
                    batches++;
                    listener.onStep(steps);
                    if (!anyActive()) {
                        break;
                    }
                    if (stop.getAsBoolean()) {
                        interrupted = true;
                        start += batch;
                        break;
                    }
                }
                boolean cut = start < n; // a stop within the epoch: its checkpoint continues the epoch
                List<Integer> open = running();
                if (open.isEmpty()) {
                    break;
                }
                double[] froMean = new double[r];
                double[] froMax = new double[r];
                double[] penaltyExact = new double[r];
                Arrays.fill(penaltyExact, Double.NaN);
                Evaluation exact = null;
                if (estimator != null) {
                    Arrays.fill(froMean, Double.NaN);
                    Arrays.fill(froMax, Double.NaN);
                    int every = penalty.exactEvery();
                    if (every > 0 && epoch % every == 0) {
                        exact = evaluate(validation.get(0).n() > 0 ? validation : train, true);
                        penaltyExact = exact.penalty;
                        froMean = exact.froMean;
                        froMax = exact.froMax;
                    }
                } else {
                    Evaluation whole = null;
                    for (int i = 0; i < r; i++) {
                        if (froCount > 0 && lambdas[i] > 0) {
                            froMean[i] = sums[i][3] / froCount;
                            froMax[i] = maxFro[i];
                        } else {
                            // a member without a penalty: its norms over the training set, as Trainer does
                            whole = whole == null ? evaluate(train, true) : whole;
                            froMean[i] = whole.froMean[i];
                            froMax[i] = whole.froMax[i];
                        }
                    }
                }
                Evaluation val = evaluate(validation, false);
                double seconds = (System.nanoTime() - epochStart) / 1e9;
                for (int i : open) {
                    // a member's penalty is 0 when it has no λ, as in Trainer (which then does not compute it)
                    double pen = lambdas[i] > 0 ? sums[i][2] / seen : 0;
                    EpochMetrics m = new EpochMetrics(epoch, sums[i][1] / seen, val.data[i], pen, penaltyExact[i],
                            sums[i][0] / seen, froMean[i], froMax[i], classification ? sums[i][4] / seen : Double.NaN,
                            val.accuracy[i], seconds);
                    epochsRun[i]++;
                    lastRows[i] = m;
                    listener.onEpoch(i, m);
                }
                boolean last = epoch == epochs || interrupted;
                boolean due = epoch % trainSpec.checkpointEvery() == 0
                        && System.nanoTime() - lastCheckpoint >= minCheckpointNanos;
                if (due || last) {
                    List<Integer> saved = new ArrayList<>();
                    boolean[] finite = finiteRows();
                    double epochSeconds = (System.nanoTime() - epochStart) / 1e9;
                    for (int i : open) {
                        if (finite[i]) {
                            save(i);
                            lastGood[i] = epoch;
                            saved.add(i);
                            positions[i] = cut
                                    ? new Trainer.Position(epoch - 1, batches, steps,
                                            cutSums(i, sums[i], maxFro[i], froCount, seen, epochSeconds))
                                    : new Trainer.Position(epoch, 0, steps, new double[Trainer.Sums.SIZE]);
                        }
                    }
                    if (!saved.isEmpty()) {
                        listener.onCheckpoint(epoch, saved);
                        lastCheckpoint = System.nanoTime();
                    }
                }
                if (interrupted) {
                    for (int i : open) {
                        reasons[i] = StopReason.INTERRUPTED;
                    }
                    LOG.warn("interrupted after epoch {}", epoch);
                    break;
                }
            }
        }
        double[] ms = millis.stream().mapToDouble(Double::doubleValue).toArray();
        return new Result(epochsRun, Arrays.asList(lastRows), List.of(reasons), lastGood, steps, ms);
    }

    /**
     * A cut epoch's running sums for member i in the layout of a plain run's ({@link Trainer.Sums}):
     * a member without λ computes no penalty and no norms in its plain run, so its figures are 0.
     */
    private double[] cutSums(int i, double[] sum, double maxFro, long froCount, int seen, double seconds) {
        Trainer.Sums s = new Trainer.Sums();
        s.loss = sum[0];
        s.data = sum[1];
        boolean penalized = lambdas[i] > 0;
        s.penalty = penalized ? sum[2] : 0;
        s.fro = penalized && froCount > 0 ? sum[3] : 0;
        s.maxFro = penalized && froCount > 0 ? maxFro : 0;
        s.froCount = penalized ? froCount : 0;
        s.correct = sum[4];
        s.seen = seen;
        s.seconds = seconds;
        return s.toArray();
    }

    /**
     * Writes member {@code member}'s checkpoint.safetensors, the very file its plain run writes at
     * this point ({@link CheckpointFile}): its network's weights, its rows of the stacked optimizer
     * state under {@link Optimizer#state}'s names, the update count and its position. Call it from
     * {@link Listener#onCheckpoint} for the members named there.
     */
    public void writeCheckpoint(int member, java.nio.file.Path file) throws java.io.IOException {
        if (positions == null || positions[member] == null) {
            throw new IllegalStateException("member " + member + " has no checkpoint to write");
        }
        try (NDManager step = manager.newSubManager()) {
            Scopes.tempAttach(step, state1, state2);
            java.util.Map<String, NDArray> state = new java.util.LinkedHashMap<>();
            // SGD's buffer holds lr·b here, as in the engine's fused update that a plain run's Optimizer calls
            state.put("optimizer.m.0", state1.get(member));
            if (adam) {
                state.put("optimizer.v.0", state2.get(member));
            }
            CheckpointFile.write(file, nets.get(member), state, t, positions[member]);
        }
    }

    private boolean anyActive() {
        for (boolean a : active) {
            if (a) {
                return true;
            }
        }
        return false;
    }

    private List<Integer> running() {
        List<Integer> open = new ArrayList<>();
        for (int i = 0; i < r; i++) {
            if (active[i]) {
                open.add(i);
            }
        }
        return open;
    }

    /** One evaluation of all members: per-member [R] arrays. */
    private record Values(NDArray total, NDArray data, NDArray penalty, NDArray froMean, NDArray froMax,
            NDArray correct) {
        /** [total..., data..., penalty..., froMean..., froMax..., correct...] in one copy to Java. */
        double[] read() {
            NDList parts = new NDList(total, data, penalty);
            if (froMean != null) {
                parts.add(froMean);
                parts.add(froMax);
            }
            if (correct != null) {
                parts.add(correct);
            }
            return NDArrays.concat(parts).toType(DataType.FLOAT64, false).toDoubleArray();
        }
    }

    /** For classification, how many of each member's rows its model gets right: [R] of the model's dtype. */
    private NDArray correct(NDArray out, NDArray labels) {
        return classification ? out.argMax(-1).eq(labels).sum(new int[] {1}).toType(dtype, false) : null;
    }

    /**
     * The members' objectives on x [R, B, d] and y [R, B, ...]: with {@code withCurvature} the
     * penalty λ_r · mean norm (exact, or estimated along {@code dirs} [R, K, B, d] when given) and,
     * when exact and {@code withFrobenius}, the Frobenius norms' per-member mean and max. The exact
     * norms come from the replicated closed form or Taylor pairs ({@link #closedForm}).
     */
    private Values evaluate(NDArray x, NDArray y, boolean withCurvature, boolean withFrobenius, NDArray dirs) {
        long b = x.getShape().get(1);
        if (!withCurvature) {
            NDArray out = template.forward(x, views);
            NDArray dataLoss = Loss.perReplica(specs.get(0).loss(), out, y);
            NDArray zero = dataLoss.zerosLike();
            return new Values(dataLoss, dataLoss, zero, null, null, correct(out, y));
        }
        NDArray out;
        NDArray perSample;
        NDArray froSquared = null;
        if (dirs == null && closedForm) {
            ClosedForm.Norms norms = hessian.closedForm(x, views);
            out = byMember(norms.value(), b);
            perSample = norms.get(norm).reshape(r, b);
            if (withFrobenius) {
                froSquared = norm == Norm.FROBENIUS ? perSample : norms.get(Norm.FROBENIUS).reshape(r, b);
            }
        } else if (dirs != null && !template.replicatedTaylor()) {
            // probes through the closed form: u_aᵀ H v_b from the Jacobian rows along the probes
            ClosedForm.Norms norms = hessian.closedForm(x, dirs, views);
            out = byMember(norms.value(), b);
            perSample = estimator.estimate(new Taylor(norms.value(), null, norms.directional(estimator.pairs()))).reshape(r, b);
        } else {
            Pairs pairs = dirs == null ? hessian.pairs() : estimator.pairs();
            Taylor t = template.taylor(x, dirs == null ? eye : dirs, pairs, views);
            out = t.value();
            Taylor flat = flatReplicas(t);
            if (dirs == null) {
                perSample = hessian.norm(flat, norm).reshape(r, b);
                if (withFrobenius) {
                    froSquared = norm == Norm.FROBENIUS ? perSample : hessian.norm(flat, Norm.FROBENIUS).reshape(r, b);
                }
            } else {
                perSample = estimator.estimate(flat).reshape(r, b);
            }
        }
        NDArray dataLoss = Loss.perReplica(specs.get(0).loss(), out, y);
        NDArray froMean = null;
        NDArray froMax = null;
        if (froSquared != null) {
            NDArray fro = froSquared.sqrt();
            froMean = fro.mean(new int[] {1});
            froMax = fro.max(new int[] {1});
        }
        NDArray pen = perSample.mean(new int[] {1}).mul(lambda.reshape(r));
        return new Values(dataLoss.add(pen), dataLoss, pen, froMean, froMax, correct(out, y));
    }

    /** The outputs [R·B, ...] of a pass of R·B samples (replica-major) as [R, B, ...]. */
    private NDArray byMember(NDArray value, long b) {
        return value.reshape(new Shape(r, b).addAll(value.getShape().slice(1)));
    }

    /** A replicated Taylor pass seen as one of R·N samples, for the per-sample norms of one network. */
    private Taylor flatReplicas(Taylor t) {
        Shape v = t.value().getShape(); // [R, N, o]
        NDArray value = t.value().reshape(v.get(0) * v.get(1), v.get(2));
        NDArray hess = null;
        if (t.hess() != null) {
            Shape h = t.hess().getShape(); // [R, P, N, o]
            hess = t.hess().transpose(1, 0, 2, 3).reshape(h.get(1), h.get(0) * h.get(2), h.get(3));
        }
        return new Taylor(value, null, hess);
    }

    /** Whole-dataset figures of every member, in chunks, without gradients. */
    private record Evaluation(double[] data, double[] penalty, double[] froMean, double[] froMax, double[] accuracy) {}

    private Evaluation evaluate(List<Dataset> sets, boolean exact) {
        int n = sets.get(0).n();
        double[] data = new double[r];
        double[] pen = new double[r];
        double[] froSum = new double[r];
        double[] froMax = new double[r];
        double[] accuracy = new double[r];
        if (n == 0) {
            Arrays.fill(data, Double.NaN);
            Arrays.fill(pen, Double.NaN);
            Arrays.fill(froSum, Double.NaN);
            Arrays.fill(froMax, Double.NaN);
            Arrays.fill(accuracy, Double.NaN);
            return new Evaluation(data, pen, froSum, froMax, accuracy);
        }
        int chunk = exact ? Math.max(1, hessian.rowsPerPass(EXACT_PASS_ELEMENTS, EVAL_CHUNK) / r) : EVAL_CHUNK;
        for (int start = 0; start < n; start += chunk) {
            int end = Math.min(n, start + chunk);
            int[] range = new int[end - start];
            for (int j = 0; j < range.length; j++) {
                range[j] = start + j;
            }
            try (NDManager step = manager.newSubManager()) {
                List<Dataset> parts = new ArrayList<>();
                for (Dataset s : sets) {
                    parts.add(s.rows(range));
                }
                NDArray x = inputs(step, parts);
                NDArray y = targets(step, parts);
                attach(step);
                double[] s = evaluate(x, y, exact, exact, null).read();
                int rows = end - start;
                for (int i = 0; i < r; i++) {
                    data[i] += s[r + i] * rows;
                    pen[i] += s[2 * r + i] * rows;
                    if (exact) {
                        froSum[i] += s[3 * r + i] * rows;
                        froMax[i] = Math.max(froMax[i], s[4 * r + i]);
                    }
                    if (classification) {
                        accuracy[i] += s[s.length - r + i];
                    }
                }
            }
        }
        for (int i = 0; i < r; i++) {
            data[i] /= n;
            pen[i] /= n;
            froSum[i] = exact ? froSum[i] / n : Double.NaN;
            if (!exact) {
                froMax[i] = Double.NaN;
            }
            accuracy[i] = classification ? Math.round(accuracy[i]) / (double) n : Double.NaN;
        }
        return new Evaluation(data, pen, froSum, froMax, accuracy);
    }

    /** The members' inputs [R, N, d]. */
    private NDArray inputs(NDManager m, List<Dataset> sets) {
        Dataset a = sets.get(0);
        double[] all = new double[r * a.n() * a.d()];
        for (int i = 0; i < r; i++) {
            System.arraycopy(sets.get(i).x(), 0, all, i * a.n() * a.d(), a.n() * a.d());
        }
        return m.create(all, new Shape(r, a.n(), a.d())).toType(dtype, false);
    }

    /** The members' targets: [R, N, o] values, or [R, N] labels. */
    private NDArray targets(NDManager m, List<Dataset> sets) {
        Dataset a = sets.get(0);
        double[] all = new double[r * a.n() * a.o()];
        for (int i = 0; i < r; i++) {
            System.arraycopy(sets.get(i).y(), 0, all, i * a.n() * a.o(), a.n() * a.o());
        }
        NDArray y = m.create(all, new Shape(r, a.n(), a.o()));
        return classification ? y.reshape(r, a.n()).toType(DataType.INT64, false) : y.toType(dtype, false);
    }

    private void attach(NDManager step) {
        template.attach(step);
        Scopes.tempAttach(step, theta, state1, state2, lambda, lr, momentum, eye);
        for (NDArray v : views) {
            Scopes.tempAttach(step, v);
        }
        hessian.attach(step);
        if (estimator != null) {
            estimator.pairs().attach(step);
        }
    }

    /**
     * One update of every active member from the views' gradients, PyTorch's rules with per-member
     * lr and momentum; the gradients of stopped members are ignored and their parameters kept.
     */
    private void update(NDManager step) {
        t++;
        NDList grads = new NDList();
        for (NDArray v : views) {
            grads.add(v.getGradient().reshape(r, -1));
        }
        NDArray g = NDArrays.concat(grads, 1);
        for (NDArray v : views) {
            Torch.zeroGrad(v);
        }
        float[] mask = new float[r];
        boolean all = true;
        for (int i = 0; i < r; i++) {
            mask[i] = active[i] ? 1f : 0f;
            all &= active[i];
        }
        NDArray on = step.create(mask, new Shape(r, 1)).toType(dtype, false);
        if (!all) { // a stopped member's gradient may be NaN, and NaN · 0 is NaN
            g = NDArrays.where(on.gt(0).broadcast(g.getShape()), g, g.zerosLike());
        }
        if (fusedAdam && all) {
            // one learning rate and no stopped member: the very update of a plain run (Optimizer), on [R, P]
            double bc2 = Math.sqrt(1 - Math.pow(BETA2, t));
            double lr0 = trainSpec.lr();
            Torch.adamUpdate(theta, g, state1, state2, lr0, lr0 * bc2 / (1 - Math.pow(BETA1, t)), BETA1, BETA2, EPS * bc2);
            return;
        }
        // The rules of Optimizer's fused updates, op for op, with the same float-rounded scalars (the
        // engine's fused calls take floats), so that a member's numbers equal its plain run's.
        if (adam) {
            // torch.optim.Adam: m = β1 m + (1−β1) g, v = β2 v + (1−β2) g², θ −= lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε),
            // computed as θ −= lr·√(1−β2^t)/(1−β1^t) · m / (√v + ε·√(1−β2^t))
            float b1 = (float) BETA1;
            float b2 = (float) BETA2;
            state1.muli(b1).addi(g.mul(1 - b1));
            state2.muli(b2).addi(g.mul(g).muli(1 - b2));
            double bc2 = Math.sqrt(1 - Math.pow(BETA2, t));
            float[] lrc = new float[r];
            for (int i = 0; i < r; i++) {
                lrc[i] = active[i] ? (float) (specs.get(i).train().lr() * bc2 / (1 - Math.pow(BETA1, t))) : 0f;
            }
            NDArray stepSize = step.create(lrc, new Shape(r, 1)).toType(dtype, false);
            theta.subi(state1.mul(stepSize).div(state2.sqrt().add((float) (EPS * bc2))));
        } else {
            // torch.optim.SGD with momentum (dampening 0) as b = μ b + lr·g, θ −= b: PyTorch's
            // b = μ b + g, θ −= lr·b with the constant lr folded into b
            state1.muli(momentum).addi(g.mul(lr.mul(on)));
            theta.subi(state1);
        }
    }

    /** Whether each member's parameters are all finite. */
    private boolean[] finiteRows() {
        try (NDManager step = manager.newSubManager()) {
            Scopes.tempAttach(step, theta);
            double[] bad = theta.isNaN().logicalOr(theta.isInfinite()).toType(DataType.FLOAT64, false)
                    .sum(new int[] {1}).toDoubleArray();
            boolean[] finite = new boolean[r];
            for (int i = 0; i < r; i++) {
                finite[i] = bad[i] == 0;
            }
            return finite;
        }
    }

    /** Copies member i's parameters into its network (its checkpoint). */
    private void save(int i) {
        try (NDManager step = manager.newSubManager()) {
            Scopes.tempAttach(step, theta);
            nets.get(i).flatParameters().set(new NDIndex(":"), theta.get(i));
        }
    }

    /** Restores member i's parameters from its network (its last checkpoint). */
    private void restore(int i) {
        try (NDManager step = manager.newSubManager()) {
            Scopes.tempAttach(step, theta);
            theta.set(new NDIndex(String.valueOf(i)), nets.get(i).flatParameters());
        }
    }

    public int members() {
        return r;
    }

    @Override
    public void close() {
        hessian.close();
        if (estimator != null) {
            estimator.close();
        }
        manager.close();
    }
}
