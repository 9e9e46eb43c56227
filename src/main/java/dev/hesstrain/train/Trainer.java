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
import dev.hesstrain.hessian.HutchinsonNorm;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Parameter;
import dev.hesstrain.model.Scopes;
import dev.hesstrain.model.Torch;
import dev.hesstrain.spec.OptimizerKind;
import dev.hesstrain.spec.PenaltyMethod;
import dev.hesstrain.spec.PenaltySpec;
import dev.hesstrain.spec.Spec;
import dev.hesstrain.spec.TrainSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * The one training loop: R ≥ 1 members that share their structure, trained as one tensor program.
 * A plain run is a stack of one. Θ [R, P] holds every member's parameters, and each member keeps
 * its own λ, learning rate, momentum and seed (and so its own data, initial weights, split,
 * minibatch order and probes).
 *
 * <p>The loop owns the order of things: batches, the step of every member through its {@link
 * Passes} (one member: the network's own passes, with the feature-major closed form for flat
 * networks at small d; several: the replica axis), divergence (a member whose loss turns NaN or
 * infinite is restored to its last checkpoint and frozen, the others go on), the epoch's figures,
 * evaluation every {@code train.eval_every} epochs, the checkpoint schedule, resume positions and
 * the updates (PyTorch's Adam and SGD, the engine's fused update when every running member has one
 * learning rate). Everything else (metrics files, progress, logs, memory readings, stop requests,
 * and later schedules, early stopping and monitors) hangs on it as a {@link TrainingListener},
 * which sees the loop's state through {@link Loop} and may act through it: stop the run, stop one
 * member, scale one member's learning rate.
 *
 * <p>Each member's {@link Network} (given by the caller, built from that member's seed) holds the
 * member's weights of its latest checkpoint: {@link TrainingListener#onCheckpoint} is the moment
 * to write them, with {@link #writeCheckpoint}.
 */
public final class Trainer implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(Trainer.class);
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double EPS = 1e-8;

    /**
     * The least time between two checkpoints, but for the last (end of the run, or interrupted):
     * a checkpoint due sooner is skipped. A checkpoint is two durable atomic writes (4 fsyncs,
     * ~4 ms on the reference machine); with epochs of a millisecond, checkpoints every 10 epochs
     * took longer than the training.
     */
    public static final double MIN_CHECKPOINT_SECONDS = 1.0;
    /**
     * The share of the wall time that due checkpoints may take: after a checkpoint that took t, the
     * next due one waits at least t / this share (and {@link #MIN_CHECKPOINT_SECONDS}). A plain
     * run's checkpoint (a few ms) keeps the one-second spacing; a stacked group's grows with its
     * members: 16 sin2pi members write 48 files in 30-60 ms, so every 1.5-3 s. The checkpoint at a
     * stop (Ctrl-C, a stopped member, the last epoch) is always written.
     */
    public static final double MAX_CHECKPOINT_SHARE = 0.02;

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

    /** An epoch's running sums of a member's steps' figures, and the seconds it has taken. */
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
     * The outcome: per member how many epochs got a metrics row, its last row (null when none), its
     * stop reason and words, and its last checkpointed epoch; the steps, each step's milliseconds
     * and the wall time of the whole loop (evaluation, rows and checkpoints included). The rows
     * themselves go to {@link TrainingListener#onEpoch} and are not kept: a sweep of many members
     * and epochs stays flat.
     */
    public record Result(int[] epochsRun, List<EpochMetrics> lastRows, List<StopReason> reasons, List<String> details,
            int[] lastGoodEpoch, long steps, long stepsRun, double[] stepMillis, double wallSeconds) {

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

        /**
         * The wall time of the loop divided by the steps it ran, in milliseconds: what a user waits
         * per step, evaluation, rows and checkpoints included (NaN when no step ran).
         */
        public double wallMillisPerStep() {
            return stepsRun == 0 ? Double.NaN : wallSeconds * 1e3 / stepsRun;
        }

        /** Member 0's stop reason (a plain run's). */
        public StopReason reason() {
            return reasons.get(0);
        }

        /** Member 0's stop reason in words. */
        public String detail() {
            return details.get(0);
        }
    }

    /**
     * The state of the loop that listeners see, and what they may do to it: stop the run, stop one
     * member, scale one member's learning rate.
     */
    public final class Loop {
        private int epoch;
        private long steps;
        private boolean stopping;
        private StopReason reason = StopReason.COMPLETED;
        private String detail = StopReason.COMPLETED.description();

        /** The epochs of the spec. */
        public int epochs() {
            return trainSpec.epochs();
        }

        /** The current epoch, from 1 (0 before the first). */
        public int epoch() {
            return epoch;
        }

        /** Steps taken so far, over the whole run (one step serves every member). */
        public long steps() {
            return steps;
        }

        /** The members, R. */
        public int members() {
            return r;
        }

        /** Whether member {@code i} still trains. */
        public boolean running(int i) {
            return active[i];
        }

        /** Whether the run ends after the current step. */
        public boolean stopping() {
            return stopping;
        }

        public StopReason reason() {
            return reason;
        }

        public String detail() {
            return detail;
        }

        /** Ends the run after the current step (even mid-epoch); the first stop's reason is kept. */
        public void stop(StopReason why, String words) {
            if (!stopping) {
                stopping = true;
                reason = why;
                detail = words;
            }
        }

        /**
         * Stops member {@code i} alone after the current step or epoch: it is frozen with its
         * current weights, which are checkpointed at this epoch's end, and gets no more rows.
         */
        public void stopMember(int i, StopReason why, String words) {
            if (active[i] && reasons[i] == StopReason.COMPLETED) {
                reasons[i] = why;
                details[i] = words;
                stopRequested[i] = true;
            }
        }

        /**
         * Multiplies member {@code i}'s learning rate from the next step on by {@code factor}
         * (relative to its spec's {@code train.lr}): the hook of a schedule.
         */
        public void scaleLearningRate(int i, double factor) {
            lrFactor[i] = factor;
        }

        /** Member {@code i}'s current learning-rate factor (1 unless a listener set it). */
        public double learningRateFactor(int i) {
            return lrFactor[i];
        }

        /**
         * Copies member {@code i}'s current weights (at the end of the last step) into {@code into},
         * a network of the members' structure: a monitor's measurement. A plain run's own network
         * holds them already.
         */
        public void copyWeights(int i, Network into) {
            if (r == 1 && into == template) {
                return;
            }
            try (NDManager step = manager.newSubManager()) {
                Scopes.tempAttach(step, theta);
                into.flatParameters().set(new NDIndex(":"), theta.get(i));
            }
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
    private final TrainSpec trainSpec;
    private final boolean adam;
    private final double minCheckpointNanos;
    /** Θ [R, P], all members' parameters (one member: a view of its network's flat parameters). */
    private final NDArray theta;
    /** One member: its weights at its last checkpoint (the network holds the live ones); else null. */
    private final NDArray kept;
    private final NDArray state1;
    private final NDArray state2;
    private final double[] lambdas;
    private final Passes passes;
    private final boolean[] active;
    private final StopReason[] reasons;
    private final String[] details;
    private final boolean[] stopRequested;
    private final double[] lrFactor;
    /** Each member's {@code train.weight_decay} (AdamW's decoupled decay, or SGD's L2). */
    private final double[] weightDecay;
    /** Each member's rate of the last update (SGD's buffers hold lr·b; see {@link #rescaleMomentum}), 0 before any. */
    private final double[] lastLr;
    /** Each member's schedule ({@code train.schedule}), set through {@link Loop#scaleLearningRate} per epoch. */
    private final Schedule[] schedules;
    /** Each member's early stopping (null without {@code train.early_stopping}). */
    private final EarlyStopping[] stoppers;
    /** The weights of each early-stopping member's best epoch (rows of other members unused), or null. */
    private NDArray best;
    private final int[] lastGood;
    private long t;
    /** Where each member stands for the checkpoint being written ({@link #writeCheckpoint}). */
    private Position[] positions;
    /** Where every member continues ({@link #resume}), or null for a fresh start. */
    private Position resumed;
    /** Each member's running sums of the cut epoch it continues ({@link #resume}). */
    private final double[][] resumedSums;

    /** A plain run: one member. */
    public Trainer(Spec spec, Network network, Dataset train, Dataset validation) {
        this(List.of(spec), List.of(network), List.of(train), List.of(validation), MIN_CHECKPOINT_SECONDS);
    }

    /**
     * @param specs the members' resolved specs
     * @param nets each member's network, initialised from its own seed (as {@code setup.Setup} builds it);
     *     it receives the member's checkpointed weights
     * @param train each member's training set (from its own seed and split)
     * @param validation each member's validation set
     */
    public Trainer(List<Spec> specs, List<Network> nets, List<Dataset> train, List<Dataset> validation) {
        this(specs, nets, train, validation, MIN_CHECKPOINT_SECONDS);
    }

    /** A trainer whose checkpoints are at least {@code minCheckpointSeconds} apart (0: every due one). */
    public Trainer(List<Spec> specs, List<Network> nets, List<Dataset> train, List<Dataset> validation,
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
        this.lambdas = specs.stream().mapToDouble(s -> s.penalty().lambda()).toArray();
        boolean curvature = Arrays.stream(lambdas).anyMatch(l -> l > 0);
        if (r > 1) {
            if (!template.replicable()) {
                throw new IllegalArgumentException("the model has a layer without a replicated pass");
            }
            String refused = curvature ? penaltyRefused(template) : null;
            if (refused != null) {
                throw new IllegalArgumentException(refused);
            }
        }
        this.manager = template.manager().newSubManager();
        this.active = new boolean[r];
        Arrays.fill(active, true);
        this.reasons = new StopReason[r];
        Arrays.fill(reasons, StopReason.COMPLETED);
        this.details = new String[r];
        Arrays.fill(details, StopReason.COMPLETED.description());
        this.stopRequested = new boolean[r];
        this.lrFactor = new double[r];
        Arrays.fill(lrFactor, 1);
        this.weightDecay = new double[r];
        this.lastLr = new double[r];
        this.schedules = new Schedule[r];
        this.stoppers = new EarlyStopping[r];
        for (int i = 0; i < r; i++) {
            TrainSpec ts = specs.get(i).train();
            weightDecay[i] = ts.weightDecay();
            schedules[i] = new Schedule(ts.schedule(), ts.lr(), ts.epochs());
            stoppers[i] = ts.earlyStopping() == null ? null : new EarlyStopping(ts.earlyStopping());
        }
        this.lastGood = new int[r];
        Arrays.fill(lastGood, -1); // no checkpoint yet
        this.resumedSums = new double[r][];
        List<NDArray> leaves = new ArrayList<>();
        if (r == 1) {
            // one member trains its network's own parameters, through the network's own passes
            NDArray flat = template.flatParameters();
            this.theta = flat.reshape(1, flat.size()); // a view: updates of Θ are the network's
            theta.attach(manager);
            this.kept = flat.duplicate();
            kept.attach(manager);
            for (Parameter p : template.parameters()) {
                p.array().setRequiresGradient(true);
                leaves.add(p.array());
            }
        } else {
            NDList rows = new NDList();
            for (Network n : nets) {
                rows.add(n.flatParameters());
            }
            this.theta = NDArrays.stack(rows);
            theta.attach(manager);
            this.kept = null;
            long offset = 0;
            for (Parameter p : template.parameters()) {
                Shape shape = p.array().getShape();
                NDArray slice = theta.get(new NDIndex(":, " + offset + ":" + (offset + shape.size())));
                NDArray view = slice.reshape(new Shape(r).addAll(shape));
                slice.close(); // the view keeps Θ's memory
                view.setRequiresGradient(true);
                leaves.add(view);
                offset += shape.size();
            }
        }
        this.state1 = theta.zerosLike();
        this.state2 = adam ? theta.zerosLike() : null;
        HutchinsonNorm estimator = penalty.method() == PenaltyMethod.HUTCHINSON
                ? new HutchinsonNorm(template, penalty.norm(), penalty.probes(), penalty.distribution())
                : null;
        this.passes = r == 1
                ? new NetworkPasses(first, template, leaves, estimator)
                : new ReplicaPasses(specs, template, leaves, estimator, manager, lambdas);
    }

    /**
     * Why a stacked penalty cannot run on {@code net}'s replica axis, or null when it can: the
     * replicated Taylor pass needs flat inputs, dense layers and elementwise activations ({@link
     * Network#replicatedTaylor()}), the replicated closed form layers with the sandwich structure,
     * which every layer type has.
     */
    public static String penaltyRefused(Network net) {
        if (net.replicatedTaylor() || net.firstWithoutCurvature() < 0) {
            return null;
        }
        int i = net.firstWithoutCurvature();
        return "λ > 0 and layer " + i + " (" + net.layers().get(i).getClass().getSimpleName()
                + ") has neither a replicated Taylor pass nor a closed form";
    }

    /**
     * Why {@code specs} cannot train as one program, or null when they can: they must agree on
     * everything but {@code penalty.lambda}, {@code train.lr}, {@code train.momentum} and {@code
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
                    || !Objects.equals(a.train().checkpointEvery(), b.train().checkpointEvery())
                    || !Objects.equals(a.train().evalEvery(), b.train().evalEvery())) {
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

    /** The members, R. */
    public int members() {
        return r;
    }

    /** Member 0's network (a plain run's). */
    public Network network() {
        return template;
    }

    /**
     * Continues every member from its checkpoint.safetensors ({@link CheckpointFile#restore}):
     * weights, optimizer state, update count and position, so that the rows that follow are those
     * of an uninterrupted run. The checkpoints must stand at one position. Call before {@link #run}.
     *
     * @param files member i's checkpoint, in member order
     * @return where the members continue
     * @throws IOException naming a checkpoint that cannot be read, does not match its member's spec,
     *     or stands elsewhere than member 0's
     */
    public Position resume(List<Path> files) throws IOException {
        if (files.size() != r) {
            throw new IllegalArgumentException(files.size() + " checkpoints for " + r + " members");
        }
        Position at = null;
        long updates = 0;
        for (int i = 0; i < r; i++) {
            Network net = nets.get(i);
            CheckpointFile.Saved saved = CheckpointFile.restore(files.get(i), net);
            Position p = saved.position();
            if (at == null) {
                at = p;
                updates = saved.updates();
            } else if (p.epochs() != at.epochs() || p.batches() != at.batches() || p.steps() != at.steps()
                    || saved.updates() != updates) {
                throw new IOException(files.get(i) + " stands at epoch " + p.epochs() + ", batch " + p.batches()
                        + ", step " + p.steps() + ", but " + files.get(0) + " at epoch " + at.epochs() + ", batch "
                        + at.batches() + ", step " + at.steps());
            }
            try (NDManager step = manager.newSubManager()) {
                Scopes.tempAttach(step, theta, state1, state2, kept);
                NDIndex row = new NDIndex(String.valueOf(i));
                theta.set(row, net.flatParameters());
                checkState(files.get(i), saved.optimizerState(), "optimizer.m.0");
                state1.set(row, saved.optimizerState().get("optimizer.m.0").toType(dtype, false));
                if (adam) {
                    checkState(files.get(i), saved.optimizerState(), "optimizer.v.0");
                    state2.set(row, saved.optimizerState().get("optimizer.v.0").toType(dtype, false));
                }
                if (kept != null) {
                    kept.set(new NDIndex(":"), net.flatParameters());
                }
            } finally {
                saved.optimizerState().values().forEach(NDArray::close);
            }
            resumedSums[i] = p.sums();
        }
        t = updates;
        resumed = at;
        return at;
    }

    /** A plain run's {@link #resume(List)}. */
    public Position resume(Path file) throws IOException {
        return resume(List.of(file));
    }

    private void checkState(Path file, Map<String, NDArray> state, String name) throws IOException {
        NDArray a = state.get(name);
        if (a == null) {
            throw new IOException("the checkpoint " + file + " does not match the optimizer: no " + name + " (the "
                    + trainSpec.optimizer().id() + " state)");
        }
        if (a.size() != theta.getShape().get(1)) {
            throw new IOException("the checkpoint " + file + " does not match the optimizer: " + name + " has shape "
                    + a.getShape() + ", the optimizer's is (" + theta.getShape().get(1) + ")");
        }
    }

    /** The epoch of member {@code i}'s last checkpoint written (0: the initial weights). */
    public int lastCheckpoint(int i) {
        return lastGood[i];
    }

    /**
     * Runs every member's remaining epochs, calling the listeners in order. Each epoch's minibatch
     * order comes from a stream derived from (seed, epoch) and each step's probes from one derived
     * from (seed, step), so that a resumed run continues exactly as an uninterrupted one.
     */
    public Result run(List<? extends TrainingListener> listeners) {
        long wallStart = System.nanoTime();
        int epochs = trainSpec.epochs();
        int n = train.get(0).n();
        int d = template.inputs();
        int batch = trainSpec.batchSize() == null ? n : Math.min(trainSpec.batchSize(), n);
        boolean fullBatch = batch >= n;
        int evalEvery = trainSpec.evalEvery(n);
        int[] epochsRun = new int[r];
        EpochMetrics[] lastRows = new EpochMetrics[r];
        List<Double> millis = new ArrayList<>();
        Loop loop = new Loop();
        loop.steps = resumed == null ? 0 : resumed.steps();
        long firstStep = loop.steps;
        // a resumed run continues after its checkpoint: whole epochs done, then batches of the next
        int epochsDone = resumed == null ? 0 : resumed.epochs();
        int batchesDone = resumed == null ? 0 : resumed.batches();
        loop.epoch = epochsDone;
        if (resumed != null) {
            Arrays.fill(lastGood, resumed.checkpointEpoch());
            Arrays.fill(epochsRun, epochsDone); // the rows before the checkpoint
        }
        try (NDManager data = manager.newSubManager()) {
            NDArray xAll = inputs(data, train);
            NDArray yAll = targets(data, train);
            NDArray xFlat = xAll.reshape(r * (long) n, d);
            NDArray yFlat = yAll.reshape(new Shape(r * (long) n).addAll(yAll.getShape().slice(2)));
            positions = new Position[r];
            listeners.forEach(l -> l.onTrainingBegin(loop));
            if (resumed == null) {
                Arrays.fill(positions, new Position(0, 0, 0, new double[Sums.SIZE]));
                checkpoint(loop, listeners, 0, running()); // the initial weights: a run that diverges at once keeps one
            } else {
                Arrays.fill(positions, resumed);
            }
            long lastCheckpoint = System.nanoTime();
            // the first checkpoint's time (class loading, new files) says little about the later ones'
            long spacing = checkpointSpacing(minCheckpointNanos, 0);
            if (resumed != null && resumed.steps() > 0) { // the state was built with the rate of the last step's epoch
                for (int i = 0; i < r; i++) {
                    lastLr[i] = schedules[i].lr(resumed.checkpointEpoch());
                }
            }
            for (int epoch = epochsDone + 1; epoch <= epochs && anyActive() && !loop.stopping(); epoch++) {
                loop.epoch = epoch;
                for (int i = 0; i < r; i++) { // train.schedule, stepped once per epoch, through the rate hook
                    if (!schedules[i].constant()) { // a constant schedule leaves the factor to the listeners
                        loop.scaleLearningRate(i, schedules[i].lr(epoch) / specs.get(i).train().lr());
                    }
                }
                boolean continued = epoch == epochsDone + 1 && batchesDone > 0;
                long epochStart = System.nanoTime() - (continued ? (long) (Sums.of(resumedSums[0]).seconds * 1e9) : 0);
                int[][] orders = new int[r][];
                for (int i = 0; i < r; i++) {
                    orders[i] = Split.permutation(n, fullBatch ? null
                            : new SplittableRandom(Seeds.derive(Seeds.shuffle(specs.get(i).seed()), epoch)));
                }
                Sums[] sums = new Sums[r];
                for (int i = 0; i < r; i++) {
                    sums[i] = continued ? Sums.of(resumedSums[i]) : new Sums();
                }
                int batches = continued ? batchesDone : 0;
                int start;
                for (start = batches * batch; start < n && !loop.stopping(); start += batch) {
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
                            long[] idx = new long[r * b]; // int64, the index type: no conversion per gather
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
                        long[] probeSeeds = new long[r];
                        for (int i = 0; i < r; i++) {
                            probeSeeds[i] = Seeds.derive(Seeds.probes(specs.get(i).seed()), loop.steps);
                        }
                        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                            NDArray total = passes.step(step, x, y, probeSeeds);
                            gc.backward(total);
                        }
                        s = passes.read();
                        for (int i = 0; i < r; i++) {
                            if (active[i] && !Double.isFinite(s[i])) {
                                if (r == 1) {
                                    LOG.warn("epoch {}: the loss is {}; stopping and keeping the checkpoint of epoch {}",
                                            epoch, s[i], lastGood[i]);
                                } else {
                                    LOG.warn("member {}, epoch {}: the loss is {}; stopping it and keeping the "
                                            + "checkpoint of epoch {}", i, epoch, s[i], lastGood[i]);
                                }
                                active[i] = false;
                                reasons[i] = StopReason.DIVERGED;
                                details[i] = StopReason.DIVERGED.description();
                                restoreAfterUpdate(i);
                                for (TrainingListener l : listeners) {
                                    l.onDiverged(loop, i, epoch, lastGood[i]);
                                }
                            }
                        }
                        update(step);
                        restoreDiverged();
                    }
                    millis.add((System.nanoTime() - t0) / 1e6);
                    loop.steps++;
                    batches++;
                    boolean norms = s.length - (classification ? r : 0) > 3 * r;
                    for (int i = 0; i < r; i++) {
                        Sums m = sums[i];
                        m.loss += s[i] * b;
                        m.data += s[r + i] * b;
                        m.penalty += lambdas[i] > 0 ? s[2 * r + i] * b : 0;
                        if (norms && lambdas[i] > 0) {
                            m.fro += s[3 * r + i] * b;
                            m.maxFro = Math.max(m.maxFro, s[4 * r + i]);
                            m.froCount += b;
                        }
                        if (classification) {
                            m.correct += s[s.length - r + i];
                        }
                        m.seen += b;
                    }
                    for (TrainingListener l : listeners) {
                        l.onStepEnd(loop);
                    }
                    if (!anyActive()) {
                        break;
                    }
                }
                boolean cut = start < n && loop.stopping(); // a stop within the epoch: its checkpoint continues it
                List<Integer> open = running();
                if (open.isEmpty()) {
                    break;
                }
                boolean evaluated = epoch % evalEvery == 0 || epoch == epochs; // a stop does not: a resumed run equals an uninterrupted one
                EpochMetrics[] rows = epochRows(epoch, sums, evaluated, epochStart);
                for (int i : open) {
                    epochsRun[i]++;
                    lastRows[i] = rows[i];
                    for (TrainingListener l : listeners) {
                        l.onEpoch(loop, i, rows[i]);
                    }
                }
                if (!cut) {
                    earlyStopping(loop, open, epoch, rows);
                }
                boolean last = epoch == epochs || loop.stopping();
                boolean due = epoch % trainSpec.checkpointEvery() == 0
                        && System.nanoTime() - lastCheckpoint >= spacing;
                List<Integer> stoppedNow = new ArrayList<>();
                for (int i : open) {
                    if (stopRequested[i]) {
                        stoppedNow.add(i);
                    }
                }
                if (due || last || !stoppedNow.isEmpty()) {
                    List<Integer> saved = new ArrayList<>();
                    boolean[] finite = finiteRows();
                    double epochSeconds = (System.nanoTime() - epochStart) / 1e9;
                    for (int i : due || last ? open : stoppedNow) {
                        if (finite[i]) {
                            saved.add(i);
                            if (cut) {
                                Sums c = cutSums(i, sums[i], epochSeconds);
                                positions[i] = new Position(epoch - 1, batches, loop.steps, c.toArray());
                            } else {
                                positions[i] = new Position(epoch, 0, loop.steps, new double[Sums.SIZE]);
                            }
                        }
                    }
                    if (!saved.isEmpty()) {
                        long before = System.nanoTime();
                        checkpoint(loop, listeners, epoch, saved);
                        lastCheckpoint = System.nanoTime();
                        spacing = checkpointSpacing(minCheckpointNanos, lastCheckpoint - before);
                    }
                }
                for (int i : stoppedNow) {
                    active[i] = false;
                }
            }
            if (loop.stopping()) {
                for (int i : running()) {
                    reasons[i] = loop.reason();
                    details[i] = loop.detail();
                }
            }
            listeners.forEach(l -> l.onTrainingEnd(loop));
        }
        if (kept != null) {
            restore(0); // the network holds the weights of its last checkpoint, as every member's does
        }
        double[] ms = millis.stream().mapToDouble(Double::doubleValue).toArray();
        return new Result(epochsRun, Arrays.asList(lastRows), List.of(reasons), List.of(details), lastGood.clone(),
                loop.steps, loop.steps - firstStep, ms, (System.nanoTime() - wallStart) / 1e9);
    }

    /**
     * The epoch's rows of every member: the training figures from the steps' sums, and, on an
     * evaluated epoch, the validation figures and (where the steps did not compute them) the
     * Hessian norms, from one batched pass over all members.
     */
    private EpochMetrics[] epochRows(int epoch, Sums[] sums, boolean evaluated, long epochStart) {
        double[] froMean = new double[r];
        double[] froMax = new double[r];
        double[] penaltyExact = new double[r];
        Arrays.fill(froMean, Double.NaN);
        Arrays.fill(froMax, Double.NaN);
        Arrays.fill(penaltyExact, Double.NaN);
        if (passes.estimated()) {
            int every = penalty.exactEvery();
            if (every > 0 && epoch % every == 0) {
                Evaluation exact = evaluate(validation.get(0).n() > 0 ? validation : train, true);
                penaltyExact = exact.penalty();
                froMean = exact.froMean();
                froMax = exact.froMax();
            }
        } else {
            Evaluation whole = null;
            for (int i = 0; i < r; i++) {
                if (sums[i].froCount > 0) {
                    froMean[i] = sums[i].fro / sums[i].froCount;
                    froMax[i] = sums[i].maxFro;
                } else if (evaluated) {
                    // a member whose steps did not give the norms: over the training set, for all at once
                    whole = whole == null ? evaluate(train, true) : whole;
                    froMean[i] = whole.froMean()[i];
                    froMax[i] = whole.froMax()[i];
                }
            }
        }
        Evaluation val = evaluated ? evaluate(validation, false) : null;
        double seconds = (System.nanoTime() - epochStart) / 1e9;
        EpochMetrics[] rows = new EpochMetrics[r];
        for (int i = 0; i < r; i++) {
            Sums s = sums[i];
            rows[i] = new EpochMetrics(epoch, s.data / s.seen, val == null ? Double.NaN : val.data()[i],
                    s.penalty / s.seen, penaltyExact[i], s.loss / s.seen, froMean[i], froMax[i],
                    classification ? s.correct / s.seen : Double.NaN,
                    val == null ? Double.NaN : val.accuracy()[i], seconds, specs.get(i).train().lr() * lrFactor[i], evaluated);
        }
        return rows;
    }

    /**
     * The least time from one due checkpoint to the next after one that took {@code took} ns: none
     * without a minimum interval (tests), else the minimum {@code minNanos} or enough to keep
     * checkpoints within {@link #MAX_CHECKPOINT_SHARE} of the wall time.
     */
    static long checkpointSpacing(double minNanos, long took) {
        return minNanos <= 0 ? 0 : (long) Math.max(minNanos, took / MAX_CHECKPOINT_SHARE);
    }

    private void checkpoint(Loop loop, List<? extends TrainingListener> listeners, int epoch, List<Integer> members) {
        for (int i : members) {
            save(i);
        }
        for (TrainingListener l : listeners) {
            l.onCheckpoint(loop, epoch, members);
        }
        for (int i : members) {
            lastGood[i] = epoch;
        }
    }

    /**
     * A cut epoch's running sums of member i as a checkpoint records them: a member without λ
     * computes no penalty and no norms, so its figures are 0.
     */
    private Sums cutSums(int i, Sums s, double seconds) {
        Sums c = Sums.of(s.toArray());
        if (lambdas[i] <= 0) {
            c.penalty = 0;
            c.fro = 0;
            c.maxFro = 0;
            c.froCount = 0;
        }
        c.seconds = seconds;
        return c;
    }

    /**
     * Writes member {@code member}'s checkpoint.safetensors ({@link CheckpointFile}): its network's
     * weights, its row of the optimizer state, the update count and its position. Call it from
     * {@link TrainingListener#onCheckpoint} for the members named there.
     */
    public void writeCheckpoint(int member, Path file) throws IOException {
        if (positions == null || positions[member] == null) {
            throw new IllegalStateException("member " + member + " has no checkpoint to write");
        }
        try (NDManager step = manager.newSubManager()) {
            Scopes.tempAttach(step, state1, state2);
            Map<String, NDArray> state = new LinkedHashMap<>();
            // SGD's buffer holds lr·b, as in the engine's fused update
            state.put("optimizer.m.0", state1.get(member));
            if (adam) {
                state.put("optimizer.v.0", state2.get(member));
            }
            CheckpointFile.write(file, nets.get(member), state, t, positions[member]);
        }
    }

    /** Where member 0 stands for the checkpoint being written (a plain run's). */
    public Position position() {
        return positions == null ? new Position(0, 0, 0, new double[Sums.SIZE]) : positions[0];
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

    /** Whole-dataset figures of every member: per-member [R] arrays. */
    record Evaluation(double[] data, double[] penalty, double[] froMean, double[] froMax, double[] accuracy) {}

    /**
     * Final figures of member 0 (a plain run) on a dataset with the current weights: the exact
     * penalty and Hessian norms, and for classification losses the accuracy (NaN otherwise).
     */
    public record Figures(double data, double penalty, double hessianFroMean, double hessianFroMax, double accuracy) {}

    /**
     * Evaluates member 0's data loss, exact penalty and Hessian norms (whatever the training
     * method) and, for classification, its accuracy on a whole dataset, without gradients.
     */
    public Figures evaluate(Dataset d) {
        List<Dataset> sets = new ArrayList<>();
        for (int i = 0; i < r; i++) {
            sets.add(d);
        }
        Evaluation e = evaluate(sets, true);
        return new Figures(e.data()[0], e.penalty()[0], e.froMean()[0], e.froMax()[0], e.accuracy()[0]);
    }

    /** Whole-dataset figures of every member, in chunks of every member at once, without gradients. */
    private Evaluation evaluate(List<Dataset> sets, boolean exact) {
        int n = sets.get(0).n();
        double[] data = new double[r];
        double[] pen = new double[r];
        double[] froSum = new double[r];
        double[] froMax = new double[r];
        double[] accuracy = new double[r];
        if (n == 0) {
            for (double[] a : List.of(data, pen, froSum, froMax, accuracy)) {
                Arrays.fill(a, Double.NaN);
            }
            return new Evaluation(data, pen, froSum, froMax, accuracy);
        }
        int chunk = passes.chunk(exact, r);
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
                double[] s = passes.evaluate(x, y, exact);
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
        Scopes.tempAttach(step, theta, state1, state2, kept);
        passes.attach(step);
    }

    /** Members that diverged in this step: restored once the update is done. */
    private final List<Integer> toRestore = new ArrayList<>();

    private void restoreAfterUpdate(int i) {
        toRestore.add(i);
    }

    private void restoreDiverged() {
        for (int i : toRestore) {
            restore(i);
        }
        toRestore.clear();
    }

    /**
     * One update of every active member from the leaves' gradients, PyTorch's rules with per-member
     * lr (times its factor) and momentum; the gradients of stopped members are ignored and their
     * parameters kept.
     */
    private void update(NDManager step) {
        t++;
        rescaleMomentum(step);
        NDArray g = passes.gradient(r);
        boolean all = true;
        boolean uniform = true;
        double lr0 = specs.get(0).train().lr() * lrFactor[0];
        double mu0 = momentumOf(0);
        double wd0 = weightDecay[0];
        float[] mask = new float[r];
        for (int i = 0; i < r; i++) {
            mask[i] = active[i] ? 1f : 0f;
            all &= active[i];
            uniform &= specs.get(i).train().lr() * lrFactor[i] == lr0 && momentumOf(i) == mu0 && weightDecay[i] == wd0;
        }
        if (!all) { // a stopped member's gradient may be NaN, and NaN · 0 is NaN
            NDArray on = step.create(mask, new Shape(r, 1));
            g = NDArrays.where(on.gt(0).broadcast(g.getShape()), g, g.zerosLike());
        }
        if (all && uniform) {
            // one learning rate and no stopped member: the engine's fused update on [R, P]
            if (adam) {
                double bc2 = Math.sqrt(1 - Math.pow(BETA2, t));
                Torch.adamUpdate(theta, g, state1, state2, lr0, lr0 * bc2 / (1 - Math.pow(BETA1, t)), BETA1, BETA2,
                        EPS * bc2, wd0);
            } else {
                Torch.sgdUpdate(theta, g, state1, lr0, mu0, wd0);
            }
            return;
        }
        boolean decay = Arrays.stream(weightDecay).anyMatch(w -> w > 0);
        NDArray wd = null;
        if (decay) { // the engine's fused updates take the decay as a float
            float[] w = new float[r];
            for (int i = 0; i < r; i++) {
                w[i] = (float) weightDecay[i];
            }
            wd = step.create(w, new Shape(r, 1)).toType(dtype, false);
        }
        // The rules of the fused updates, op for op, with the same float-rounded scalars (the
        // engine's fused calls take floats), so that a member's numbers equal its plain run's.
        if (adam) {
            // torch.optim.Adam: m = β1 m + (1−β1) g, v = β2 v + (1−β2) g², θ −= lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε),
            // computed as θ −= lr·√(1−β2^t)/(1−β1^t) · m / (√v + ε·√(1−β2^t))
            float b1 = (float) BETA1;
            float b2 = (float) BETA2;
            if (decay) { // torch.optim.AdamW: θ −= lr·wd·θ before the Adam step, as the engine's adamw update
                float[] lrOn = new float[r];
                for (int i = 0; i < r; i++) {
                    lrOn[i] = active[i] ? (float) (specs.get(i).train().lr() * lrFactor[i]) : 0f;
                }
                theta.subi(theta.mul(step.create(lrOn, new Shape(r, 1)).toType(dtype, false)).mul(wd));
            }
            state1.muli(b1).addi(g.mul(1 - b1));
            state2.muli(b2).addi(g.mul(g).muli(1 - b2));
            double bc2 = Math.sqrt(1 - Math.pow(BETA2, t));
            float[] lrc = new float[r];
            for (int i = 0; i < r; i++) {
                lrc[i] = active[i]
                        ? (float) (specs.get(i).train().lr() * lrFactor[i] * bc2 / (1 - Math.pow(BETA1, t))) : 0f;
            }
            NDArray stepSize = step.create(lrc, new Shape(r, 1)).toType(dtype, false);
            theta.subi(state1.mul(stepSize).div(state2.sqrt().add((float) (EPS * bc2))));
        } else {
            // torch.optim.SGD with momentum (dampening 0) as b = μ b + lr·g, θ −= b: PyTorch's
            // b = μ b + g, θ −= lr·b with the constant lr folded into b
            float[] lr = new float[r];
            float[] mu = new float[r];
            for (int i = 0; i < r; i++) {
                lr[i] = active[i] ? (float) (specs.get(i).train().lr() * lrFactor[i]) : 0f;
                mu[i] = (float) momentumOf(i);
            }
            NDArray lrs = step.create(lr, new Shape(r, 1)).toType(dtype, false);
            NDArray mus = step.create(mu, new Shape(r, 1)).toType(dtype, false);
            if (decay) { // torch.optim.SGD's weight_decay: g + wd·θ
                g = g.add(theta.mul(wd));
            }
            state1.muli(mus).addi(g.mul(lrs));
            theta.subi(state1);
        }
    }

    /**
     * SGD's buffers hold lr·b (as the engine's fused update keeps them), where PyTorch keeps b and
     * multiplies by the current rate: when a member's rate changes (a schedule), its row is rescaled
     * by new/old, so that the next update is PyTorch's b = μ b + g, θ −= lr_new · b.
     */
    private void rescaleMomentum(NDManager step) {
        double[] ratio = new double[r];
        boolean rescale = false;
        for (int i = 0; i < r; i++) {
            double now = specs.get(i).train().lr() * lrFactor[i];
            ratio[i] = lastLr[i] > 0 && active[i] ? now / lastLr[i] : 1;
            rescale |= ratio[i] != 1;
            if (active[i]) {
                lastLr[i] = now;
            }
        }
        if (!adam && rescale) {
            state1.muli(step.create(ratio, new Shape(r, 1)).toType(dtype, false));
        }
    }

    /** Early stopping's record of member {@code i} (null without {@code train.early_stopping}). */
    public EarlyStopping earlyStopping(int i) {
        return stoppers[i];
    }

    /** The loss early stopping watches: the validation loss, or the training loss without validation rows. */
    public static String monitored(Spec spec, int validationRows) {
        return (validationRows > 0 ? "val_" : "train_") + spec.loss().id();
    }

    /**
     * Early stopping's step at the end of a whole epoch, for the running members that have it: each
     * records its monitored loss where the epoch has it (the validation loss on evaluated epochs,
     * {@code train.eval_every}; the training loss every epoch) and keeps its weights when they
     * improve. A member whose patience ran out before the last epoch gets its best weights back and
     * stops ({@link Loop#stopMember}, {@link StopReason#EARLY_STOPPED}; its checkpoint at this
     * epoch's end holds them), and at the last epoch every such member gets its best weights back.
     */
    private void earlyStopping(Loop loop, List<Integer> open, int epoch, EpochMetrics[] rows) {
        boolean lastEpoch = epoch == trainSpec.epochs();
        for (int i : open) {
            EarlyStopping es = stoppers[i];
            if (es == null) {
                continue;
            }
            boolean onValidation = validation.get(i).n() > 0;
            double value = onValidation ? rows[i].valLoss() : rows[i].trainLoss();
            if (!Double.isNaN(value) || !onValidation) { // an epoch without evaluation is not counted
                if (es.observe(epoch, value)) {
                    copyRow(theta, best(), i);
                }
            }
            boolean stop = es.shouldStop() && !lastEpoch;
            if ((stop || lastEpoch) && es.bestEpoch() > 0) {
                copyRow(best, theta, i);
            }
            if (stop) {
                String monitor = monitored(specs.get(i), validation.get(i).n());
                loop.stopMember(i, StopReason.EARLY_STOPPED, String.format(java.util.Locale.ROOT,
                        "%s did not improve by more than %s for %d evaluations; the weights of its best epoch, %d "
                                + "(%s %.6g), are kept", monitor, specs.get(i).train().earlyStopping().minDelta(),
                        es.waited(), es.bestEpoch(), monitor, es.best()));
            }
        }
    }

    private NDArray best() {
        if (best == null) {
            best = theta.duplicate();
            best.attach(manager);
        }
        return best;
    }

    /** Copies row i of {@code from} [R, P] into {@code to} in place. */
    private void copyRow(NDArray from, NDArray to, int i) {
        try (NDManager step = manager.newSubManager()) {
            Scopes.tempAttach(step, from, to);
            to.set(new NDIndex(String.valueOf(i)), from.get(i));
        }
    }

    private double momentumOf(int i) {
        Double m = specs.get(i).train().momentum();
        return m == null ? 0 : m;
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

    /** Copies member i's parameters to where its checkpoint is kept (its network; one member: a copy). */
    private void save(int i) {
        try (NDManager step = manager.newSubManager()) {
            Scopes.tempAttach(step, theta, kept);
            (kept != null ? kept : nets.get(i).flatParameters()).set(new NDIndex(":"), theta.get(i));
        }
    }

    /** Restores member i's parameters from its last checkpoint. */
    private void restore(int i) {
        try (NDManager step = manager.newSubManager()) {
            Scopes.tempAttach(step, theta, kept);
            theta.set(new NDIndex(String.valueOf(i)), kept != null ? kept : nets.get(i).flatParameters());
        }
    }

    @Override
    public void close() {
        passes.close();
        manager.close();
    }
}
