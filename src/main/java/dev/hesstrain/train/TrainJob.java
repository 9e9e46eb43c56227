package dev.hesstrain.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.data.Dataset;
import dev.hesstrain.data.Npz;
import dev.hesstrain.data.Split;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Weights;
import dev.hesstrain.runs.AtomicFiles;
import dev.hesstrain.runs.Logging;
import dev.hesstrain.runs.MetricsCsv;
import dev.hesstrain.runs.Plots;
import dev.hesstrain.runs.Provenance;
import dev.hesstrain.runs.RunDirectory;
import dev.hesstrain.runs.RunSummary;
import dev.hesstrain.runs.TensorBoard;
import dev.hesstrain.setup.Preflight;
import dev.hesstrain.setup.Setup;
import dev.hesstrain.spec.LayerSpec;
import dev.hesstrain.spec.PenaltyMethod;
import dev.hesstrain.spec.Spec;
import dev.hesstrain.spec.SpecLoader;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * One training run from a resolved spec to a complete run directory: data, model, the loop,
 * checkpoints, metrics, plots, summary and provenance.
 */
public final class TrainJob {
    private static final Logger LOG = LogManager.getLogger(TrainJob.class);

    /** What the caller shows while the job runs. */
    public interface Progress {
        void start(Spec spec, RunDirectory run, int trainSamples, int validationSamples, long parameters, String device);

        void epoch(EpochMetrics m, int epochs);

        void finish();
    }

    /** The result: where the run is and what it reached. */
    public record Outcome(RunDirectory run, RunSummary summary, StopReason reason) {}

    private final Spec spec;
    private final String specSource;
    private final Path baseDir;
    /** The run directory a resumed job continues, or null for a new run. */
    private final Path resumeDir;
    private Split loaded;
    /** Whether the run writes a TensorBoard event file, and a sweep member's varied fields (else null). */
    private boolean tensorBoard = true;
    private Map<String, String> hparams;

    /**
     * @param spec the resolved spec
     * @param specSource the file the spec came from (for messages)
     * @param baseDir the directory that relative data paths are resolved against
     */
    public TrainJob(Spec spec, String specSource, Path baseDir) {
        this(spec, specSource, baseDir, null);
    }

    private TrainJob(Spec spec, String specSource, Path baseDir, Path resumeDir) {
        this.spec = spec;
        this.specSource = specSource;
        this.baseDir = baseDir;
        this.resumeDir = resumeDir;
    }

    /**
     * A job that continues the run in {@code runDir} (claimed with {@link RunDirectory.Mode#RESUME})
     * from its last checkpoint, with {@code spec}: the run's own, train.epochs perhaps raised. Its
     * data are the run's data.npz, the exact rows it was trained on, whatever has become of the
     * spec's data.file since.
     */
    public static TrainJob resuming(Spec spec, Path runDir) {
        return new TrainJob(spec, runDir.resolve(RunDirectory.SPEC).toString(), runDir, runDir);
    }

    /**
     * Where the checkpoint of the run in {@code runDir} stands (read without building the model).
     *
     * @throws IOException naming the file when there is no readable checkpoint
     */
    public static Trainer.Position checkpointPosition(Path runDir) throws IOException {
        return CheckpointFile.position(runDir.resolve(RunDirectory.CHECKPOINT));
    }

    /**
     * Whether the run writes a TensorBoard event file ({@code --no-tensorboard} turns it off), and
     * for a sweep member its varied fields, written as its HParams session (null for a plain run).
     */
    public TrainJob tensorBoard(boolean on, Map<String, String> hparams) {
        this.tensorBoard = on;
        this.hparams = hparams;
        return this;
    }

    /** Warnings the user should see before training (not errors). */
    public List<String> warnings() {
        List<String> w = new ArrayList<>(spec.warnings());
        if (spec.penalty().active() && !spec.model().piecewiseLinearLayers().isEmpty()
                && spec.model().layers().stream().filter(LayerSpec::isActivation)
                        .allMatch(l -> l.type().activation().piecewiseLinear())) {
            w.add("the model's activations are piecewise linear (relu): its input Hessian is zero almost "
                    + "everywhere, so penalty.lambda = " + spec.penalty().lambda() + " has no effect. Use a smooth "
                    + "activation such as tanh, softplus, gelu or silu.");
        }
        return w;
    }

    /**
     * Checks everything that can be checked before a run directory exists: the data, the device,
     * and the model's shapes against the data. Spec errors name the file and the field.
     */
    public void preflight() {
        preflight(Preflight.Memory.here());
    }

    /**
     * {@link #preflight()} against the given free memory: the sizes are checked before the data
     * are generated (a generator's rows) and again before the network is built (see {@link Preflight}).
     *
     * @throws Preflight.TooLarge for a run that will not fit, with the numbers and what would
     */
    public void preflight(Preflight.Memory memory) {
        if (resumeDir == null) {
            Preflight.checkGenerated(spec, memory);
        }
        Split split = loadData();
        Dataset train = split.train();
        int outputs = spec.isClassification() ? Math.max(1, Setup.classes(spec, split)) : train.o();
        Preflight.check(spec, train.n() + split.validation().n(), train.n(), train.d(), outputs, memory);
        Setup.device(spec, specSource);
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            Setup.buildNetwork(spec, specSource, train.d(), train.o(), Setup.classes(spec, split), m).close();
        }
    }

    /** Loads and checks the data against the model (once); spec errors name the field. */
    public Split loadData() {
        if (loaded == null) {
            loaded = resumeDir == null ? Setup.loadData(spec, specSource, baseDir) : runData(resumeDir.resolve(RunDirectory.DATA));
        }
        return loaded;
    }

    /** The training and validation rows of a run's data.npz. */
    private Split runData(Path file) {
        if (!java.nio.file.Files.isRegularFile(file)) {
            throw new ResumeException(file.getParent() + " has no " + file.getFileName() + " (the run's data): it cannot be resumed");
        }
        Map<String, Npz.Array> a;
        try {
            a = Npz.read(file);
        } catch (IOException | RuntimeException e) {
            throw new ResumeException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return new Split(dataset(file, a, "train"), dataset(file, a, "val"));
    }

    private Dataset dataset(Path file, Map<String, Npz.Array> a, String part) {
        Npz.Array x = a.get("x_" + part);
        Npz.Array y = a.get("y_" + part);
        if (x == null || y == null || x.shape().length != 2 || y.shape().length != 2 || x.shape()[0] != y.shape()[0]) {
            throw new ResumeException(file + " must hold x_" + part + " [n, d] and y_" + part + " [n, o], found "
                    + new ArrayList<>(a.keySet()));
        }
        int n = (int) x.shape()[0];
        int d = (int) x.shape()[1];
        int o = (int) y.shape()[1];
        List<String> inputs = new ArrayList<>();
        for (int j = 1; j <= d; j++) {
            inputs.add("x" + j);
        }
        List<String> targets = new ArrayList<>();
        for (int k = 1; k <= o; k++) {
            targets.add("y" + k);
        }
        return new Dataset(x.values(), y.values(), n, d, o, inputs, targets, file.toString());
    }

    /**
     * Runs the whole job into {@code run}. {@code stop} is polled after every step: null while no
     * stop is asked for, then what asked for it (e.g. {@code SIGTERM}).
     */
    public Outcome run(RunDirectory run, Progress progress, Supplier<String> stop) throws IOException {
        Logging.addRunLog(run.file(RunDirectory.LOG), run.mode() == RunDirectory.Mode.RESUME);
        try {
            Outcome done = runLogged(run, progress, stop);
            events.close(); // the last records: a failure to write them is the run's, with its message
            return done;
        } catch (CheckpointFailed e) {
            throw new WriteFailed(run.path(), "the checkpoint of epoch " + e.epoch(), e.getCause(), e.kept());
        } catch (IOException e) {
            throw new WriteFailed(run.path(), "the run's files", e, kept);
        } catch (java.io.UncheckedIOException e) {
            throw new WriteFailed(run.path(), "the run's files", e.getCause(), kept);
        } finally {
            events.closeAfterFailure(); // nothing left to write after the close above
            Logging.removeRunLog();
        }
    }

    /**
     * A run that could not write its files (a full disk, a directory gone read-only): the message
     * names the directory, what was being written, the system's reason and the checkpoint kept.
     */
    public static final class WriteFailed extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final int kept;

        WriteFailed(Path dir, String what, IOException cause, int kept) {
            this("could not write " + what + " into " + dir + ": " + reason(cause) + "; "
                    + (kept >= 0 ? "the checkpoint of epoch " + kept + " is kept there (continue with train --resume "
                            + dir + " once there is room)" : "no checkpoint was written"), cause, kept);
        }

        private WriteFailed(String message, IOException cause, int kept) {
            super(message, cause);
            this.kept = kept;
        }

        /**
         * A stacked group of sweep members that could not write its files under {@code members}
         * (the sweep's members folder), each member's last checkpoint at an epoch of {@code kept}
         * (-1: none): the same sweep run again continues from those.
         */
        public static WriteFailed members(Path members, IOException cause, int[] kept) {
            int least = java.util.Arrays.stream(kept).min().orElse(-1);
            int most = java.util.Arrays.stream(kept).max().orElse(-1);
            String epochs = least < 0 ? "the checkpoints written (up to epoch " + most + ")"
                    : "their checkpoints (" + (least == most ? "epoch " + most : "epochs " + least + "-" + most) + ")";
            return new WriteFailed("could not write the members' files into " + members + ": " + reason(cause) + "; "
                    + (most < 0 ? "no checkpoint was written"
                            : epochs + " are kept (run the same sweep again once there is room: it continues from them)"),
                    cause, least);
        }

        /** The epoch of the checkpoint kept (-1: none). */
        public int kept() {
            return kept;
        }

        /** The system's words for an I/O failure ("No space left on device"), without the exception's class. */
        static String reason(Throwable e) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            if (root instanceof java.nio.file.FileSystemException f && f.getReason() != null) {
                return f.getReason();
            }
            String m = root.getMessage();
            return m == null || m.isBlank() ? root.getClass().getSimpleName() : m;
        }
    }

    /** The epoch of the last checkpoint this job wrote (-1: none yet), for a failure's message. */
    private int kept = -1;
    /** The run's TensorBoard event file, opened once its checkpoint (if resumed) is restored. */
    private TensorBoard events = TensorBoard.OFF;

    private Outcome runLogged(RunDirectory run, Progress progress, Supplier<String> stop) throws IOException {
        for (String w : warnings()) {
            LOG.warn(w);
        }
        Split split = loadData();
        Device device = Setup.device(spec, specSource);
        boolean resuming = resumeDir != null;
        if (!resuming) { // a resumed run rewrites it once its checkpoint is restored
            AtomicFiles.writeString(run.file(RunDirectory.SPEC), SpecLoader.toYaml(spec));
        }
        Dataset tr = split.train();
        Dataset va = split.validation();
        String dataSha = Dataset.sha256(new long[] {tr.n(), va.n(), tr.d(), tr.o()}, tr.x(), tr.y(), va.x(), va.y());
        Provenance provenance = Provenance.of(Engine.getDjlVersion(), Engine.getInstance().getVersion(),
                device.toString(), spec.seed(), SpecLoader.hash(spec), dataSha);
        try (NDManager manager = NDManager.newBaseManager(device)) {
            if (!resuming) {
                writeData(run, split, manager);
            }
            Network net = Setup.buildNetwork(spec, specSource, tr.d(), tr.o(), Setup.classes(spec, split), manager);
            LOG.info("run {}: {} training and {} validation samples from {}, {} parameters, on {}",
                    run.path(), tr.n(), va.n(), tr.source(), net.parameterCount(), device);
            progress.start(spec, run, tr.n(), va.n(), net.parameterCount(), device.toString());
            Trainer.Result result;
            RunSummary summary;
            try (Trainer trainer = new Trainer(spec, net, tr, va)) {
                MetricsRows metrics = new MetricsRows(progress);
                // the monitor hands the rows on once their readings are in; in the background, on a network of its own
                SharpnessMonitor monitor = spec.monitor() == null ? null
                        : new SharpnessMonitor(List.of(spec), List.of(tr), net, SharpnessMonitor.backgroundByDefault()
                                ? Setup.buildNetwork(spec, specSource, tr.d(), tr.o(), Setup.classes(spec, split), manager)
                                : null, metrics, i -> LOG);
                metrics.monitor = monitor;
                // metrics.csv first and the checkpoint last: the checkpoint is what a resumed run
                // continues from, and the rows up to it are then always in metrics.csv
                TrainingListener files = new TrainingListener() {
                    @Override
                    public void onCheckpoint(Trainer.Loop loop, int epoch, List<Integer> members) {
                        try {
                            metrics.csv.save(run.file(RunDirectory.METRICS));
                            AtomicFiles.write(run.file(RunDirectory.WEIGHTS), os -> Weights.write(net, os));
                            trainer.writeCheckpoint(0, run.file(RunDirectory.CHECKPOINT));
                        } catch (IOException e) {
                            throw new CheckpointFailed(epoch, trainer.lastCheckpoint(0), e);
                        }
                        kept = epoch;
                        LOG.info("checkpoint at epoch {}", epoch);
                    }
                };
                Integer resumedAfter = null;
                if (resuming) {
                    Trainer.Position from;
                    try {
                        from = trainer.resume(run.file(RunDirectory.CHECKPOINT));
                        metrics.restore(run.file(RunDirectory.METRICS), from.epochs());
                    } catch (IOException e) {
                        throw new ResumeException("cannot resume " + run.path() + ": " + e.getMessage(), e);
                    }
                    // nothing in the directory changes before the checkpoint is restored; then the spec (its
                    // epochs perhaps raised), and no summary of the run before this one, which would read as
                    // this run's until this one writes its own
                    AtomicFiles.writeString(run.file(RunDirectory.SPEC), SpecLoader.toYaml(spec));
                    java.nio.file.Files.deleteIfExists(run.file(RunDirectory.SUMMARY));
                    kept = from.checkpointEpoch();
                    resumedAfter = from.epochs();
                    logResumed(LOG, from, spec.train().epochs());
                }
                events = TensorBoard.open(run.path(), tensorBoard); // a resumed run adds a new file
                if (resumedAfter != null) {
                    events.resumedAt(resumedAfter + 1);
                }
                if (hparams != null && resumedAfter == null) {
                    events.sessionStart(hparams);
                }
                Memory memory = new Memory();
                List<TrainingListener> listeners = new ArrayList<>();
                listeners.add(monitor != null ? monitor : metrics); // the monitor calls the rows after itself
                listeners.addAll(List.of(files, memory, new StopRequest(stop)));
                result = trainer.run(listeners);
                progress.finish();
                if (result.reason() == StopReason.INTERRUPTED) {
                    LOG.warn("{} after epoch {}; the weights of epoch {} are saved", result.detail(), metrics.rows,
                            result.lastGoodEpoch()[0]);
                }
                metrics.csv.save(run.file(RunDirectory.METRICS));
                if (hparams != null) {
                    events.sessionEnd(result.reason().id());
                }
                // the summary before the plots: a scheduler's kill soon after a stop must not lose it
                summary = monitored(summary(spec, trainer, split, result, 0, resumedAfter, provenance, net,
                        memory.readings()), monitor, 0);
                EarlyStopping es = trainer.earlyStopping(0);
                if (es != null) {
                    summary = summary.withEarlyStopping(Trainer.monitored(spec, va.n()), es.bestEpoch(), es.best());
                }
            }
            summary.write(run.file(RunDirectory.SUMMARY));
            plots(spec, run);
            LOG.info("run stopped: {} ({})", result.reason().id(), result.detail());
            net.close();
            return new Outcome(run, summary, result.reason());
        }
    }

    /** The run log's line for a run resumed from a checkpoint at {@code from} (a train run's and a stacked member's). */
    public static void logResumed(Logger log, Trainer.Position from, int epochs) {
        log.info("resumed from the checkpoint of epoch {} (step {}{}): {} more epochs to run", from.checkpointEpoch(),
                from.steps(), from.batches() > 0 ? ", " + from.batches() + " batches into the epoch" : "",
                epochs - from.epochs());
    }

    /**
     * Adds the rows of epochs 1 to {@code epochs} of a run's metrics.csv to {@code csv}, with the
     * values as written (a resumed run: rows after its checkpoint are dropped), and returns how many.
     *
     * @throws IOException when the file's columns are not {@code csv}'s or it has fewer rows
     */
    public static int restoreMetrics(MetricsCsv csv, Path file, int epochs) throws IOException {
        MetricsCsv.Table t = MetricsCsv.read(file);
        if (!t.columns().equals(csv.columns())) {
            throw new IOException(file + " has the columns " + t.columns() + ", the spec's are " + csv.columns());
        }
        int rows = 0;
        for (Map<String, Object> row : epochRows(file, t, epochs)) {
            csv.add(row);
            rows++;
        }
        if (rows < epochs) {
            throw new IOException(file + " has " + rows + " epoch rows, the checkpoint is after epoch " + epochs);
        }
        return rows;
    }

    /** Turns each epoch's figures into a metrics.csv row, a progress line and a log line. */
    private final class MetricsRows implements TrainingListener {
        final MetricsCsv csv = new MetricsCsv(columns());
        /** The epochs with a row, 1 to rows (the rows themselves are in metrics.csv, not kept). */
        int rows;
        private final Progress progress;
        /** The monitor whose readings the rows take (it calls this listener), or null. */
        SharpnessMonitor monitor;

        MetricsRows(Progress progress) {
            this.progress = progress;
        }

        /**
         * Takes the rows of epochs 1 to {@code epochs} of a run's metrics.csv (a resumed run: rows
         * after its checkpoint are dropped), with the values as written.
         */
        void restore(Path file, int epochs) throws IOException {
            rows += restoreMetrics(csv, file, epochs);
        }

        @Override
        public void onEpoch(Trainer.Loop loop, int member, EpochMetrics m) {
            Map<String, Object> row = metricsRow(spec, m,
                    monitor == null ? SharpnessMonitor.Reading.NONE : monitor.reading(member, m.epoch()));
            csv.add(row);
            events.add(row);
            rows++;
            progress.epoch(m, spec.train().epochs());
            logEpoch(LOG, spec, m, loop);
        }
    }

    /**
     * An epoch's line in a run's log (a plain run's, and a stacked sweep member's): for the first
     * epoch, each evaluated one ({@link EpochMetrics#evaluated}, the last included) and the one a
     * stop ends, with the figures the row has (a validation loss only where evaluated). The row may
     * come later than its epoch (the sharpness monitor holds rows until their reading is in), so
     * the row, not the loop, says whether it was evaluated. metrics.csv has every epoch; a line for
     * each would cost a sweep of 16 full-batch members 4 % of its wall time.
     */
    public static void logEpoch(Logger log, Spec spec, EpochMetrics m, Trainer.Loop loop) {
        boolean stopped = loop.stopping() && m.epoch() == loop.epoch();
        if (m.epoch() != 1 && !m.evaluated() && !stopped || !log.isInfoEnabled()) {
            return;
        }
        String lossName = spec.loss().id();
        StringBuilder line = new StringBuilder("epoch ").append(m.epoch()).append(": train_").append(lossName).append(' ')
                .append(m.trainLoss());
        if (!Double.isNaN(m.valLoss())) {
            line.append(" val_").append(lossName).append(' ').append(m.valLoss());
        }
        line.append(" penalty ").append(m.penalty());
        if (!Double.isNaN(m.hessianFroMean())) {
            line.append(" hessian_fro_mean ").append(m.hessianFroMean());
        }
        log.info(line);
    }

    /** The columns of metrics.csv for this spec. */
    List<String> columns() {
        return metricsColumns(spec);
    }

    /** The columns of a run's metrics.csv for {@code spec} (a plain run's, and a stacked sweep member's). */
    public static List<String> metricsColumns(Spec spec) {
        String lossName = spec.loss().id();
        List<String> columns = new ArrayList<>(List.of("epoch", "train_" + lossName, "val_" + lossName));
        if (spec.isClassification()) {
            columns.addAll(List.of("train_accuracy", "val_accuracy"));
        }
        columns.add("penalty");
        if (estimated(spec)) {
            columns.add("penalty_exact"); // beside the estimate
        }
        columns.addAll(List.of("loss", "hessian_fro_mean", "hessian_fro_max"));
        columns.addAll(monitorColumns(spec));
        columns.addAll(List.of("lr", "seconds"));
        return columns;
    }

    /** The columns of the spec's {@code monitor} section: sharpness, hessian_trace, those asked for. */
    private static List<String> monitorColumns(Spec spec) {
        List<String> columns = new ArrayList<>();
        if (spec.monitor() != null && spec.monitor().sharpnessEvery() != null) {
            columns.add(SHARPNESS);
        }
        if (spec.monitor() != null && spec.monitor().hessianTraceEvery() != null) {
            columns.add(HESSIAN_TRACE);
        }
        return columns;
    }

    /** The monitor's columns of metrics.csv (and names in summary.json). */
    public static final String SHARPNESS = "sharpness";
    public static final String HESSIAN_TRACE = "hessian_trace";

    /**
     * An epoch's row of metrics.csv, in the order of {@link #metricsColumns}, with the monitor's
     * values of the epoch (empty where not measured).
     */
    public static Map<String, Object> metricsRow(Spec spec, EpochMetrics m, SharpnessMonitor.Reading monitored) {
        String lossName = spec.loss().id();
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("epoch", m.epoch());
        row.put("train_" + lossName, m.trainLoss());
        // the evaluated figures (every train.eval_every epochs) are empty on the other epochs
        row.put("val_" + lossName, orNull(m.valLoss()));
        if (spec.isClassification()) {
            row.put("train_accuracy", m.trainAccuracy());
            row.put("val_accuracy", orNull(m.valAccuracy()));
        }
        row.put("penalty", m.penalty());
        if (estimated(spec)) { // exact figures only on the epochs that computed them, else empty
            row.put("penalty_exact", orNull(m.penaltyExact()));
        }
        row.put("loss", m.loss());
        row.put("hessian_fro_mean", orNull(m.hessianFroMean()));
        row.put("hessian_fro_max", orNull(m.hessianFroMax()));
        for (String c : monitorColumns(spec)) {
            row.put(c, orNull(c.equals(SHARPNESS) ? monitored.sharpness() : monitored.hessianTrace()));
        }
        // the epoch's learning rate as the loop took it (train.schedule's, stepped once per epoch)
        row.put("lr", m.lr());
        row.put("seconds", m.seconds());
        return row;
    }

    private static boolean estimated(Spec spec) {
        return spec.penalty().method() == PenaltyMethod.HUTCHINSON;
    }

    /**
     * A run's summary.json record: the final figures of {@code evaluator}'s network (member 0) on
     * the split, and how member {@code member} of {@code result} went (a plain run: member 0; a
     * stacked sweep member: its own figures, the group's steps and times).
     */
    public static RunSummary summary(Spec spec, Trainer evaluator, Split split, Trainer.Result result, int member,
            Integer resumedAfter, Provenance provenance, Network net, Map<String, Double> memory) {
        Trainer.Figures tr = evaluator.evaluate(split.train());
        Trainer.Figures va = evaluator.evaluate(split.validation());
        Map<String, Double> figures = new LinkedHashMap<>();
        figures.put("train_" + spec.loss().id(), tr.data());
        figures.put("val_" + spec.loss().id(), va.data());
        boolean classes = spec.isClassification();
        return new RunSummary(spec.name(), figures, tr.penalty(), tr.data() + tr.penalty(), tr.hessianFroMean(),
                tr.hessianFroMax(), classes ? tr.accuracy() : null, classes ? va.accuracy() : null,
                result.epochsRun()[member], result.steps(), orNull(result.wallMillisPerStep()), result.medianStepMillis(),
                result.reasons().get(member).id(), result.details().get(member), result.lastGoodEpoch()[member],
                resumedAfter, net.parameterCount(), split.train().n(), split.validation().n(), provenance, memory);
    }

    /** {@code summary} with member {@code member}'s last monitored values (none without a monitor). */
    public static RunSummary monitored(RunSummary summary, SharpnessMonitor monitor, int member) {
        if (monitor == null) {
            return summary;
        }
        return summary.withFigure(SHARPNESS, orNull(monitor.lastSharpness(member)))
                .withFigure(HESSIAN_TRACE, orNull(monitor.lastTrace(member)));
    }

    private static Double orNull(double v) {
        return Double.isNaN(v) ? null : v;
    }

    /**
     * The rows of epochs 1 to {@code upTo} of a metrics.csv read back, in order, with the values as
     * written (numbers as Double, empty fields null, the epoch as an Integer).
     */
    private static List<Map<String, Object>> epochRows(Path file, MetricsCsv.Table t, int upTo) throws IOException {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Map<String, String> r : t.rows()) {
            int epoch;
            try {
                epoch = Integer.parseInt(r.get("epoch"));
            } catch (NumberFormatException e) {
                throw new IOException(file + ": the epoch '" + r.get("epoch") + "' is not a number");
            }
            if (epoch > upTo) {
                break;
            }
            if (epoch != out.size() + 1) {
                throw new IOException(file + ": epoch " + epoch + " follows epoch " + out.size());
            }
            Map<String, Object> row = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : r.entrySet()) {
                row.put(e.getKey(), e.getKey().equals("epoch") ? (Object) epoch : MetricsCsv.parseValue(e.getValue()));
            }
            out.add(row);
        }
        return out;
    }

    /**
     * A run directory's loss.png and hessian.png (and a classifier's accuracy.png) from its metrics.csv, read back once the run has
     * saved it for the last time (the train job's and a stacked member's): a run keeps no epoch
     * rows in memory, so that a long run, or a sweep of many members, stays flat.
     */
    public static void plots(Spec spec, RunDirectory run) throws IOException {
        Path file = run.file(RunDirectory.METRICS);
        List<Map<String, Object>> rows = epochRows(file, MetricsCsv.read(file), Integer.MAX_VALUE);
        String lossName = spec.loss().id();
        double[] x = column(rows, "epoch");
        LinkedHashMap<String, double[]> loss = new LinkedHashMap<>();
        loss.put("train " + spec.loss(), column(rows, "train_" + lossName));
        loss.put("validation " + spec.loss(), column(rows, "val_" + lossName));
        loss.put("penalty", column(rows, "penalty"));
        if (spec.penalty().method() == PenaltyMethod.HUTCHINSON) {
            loss.put("penalty (exact)", column(rows, "penalty_exact"));
        }
        Plots.lineChart(run.file(RunDirectory.LOSS_PLOT), spec.name() + ": loss per epoch", "epoch", "loss", true, x, loss);
        LinkedHashMap<String, double[]> hess = new LinkedHashMap<>();
        hess.put("mean ||H||_F", column(rows, "hessian_fro_mean"));
        hess.put("max ||H||_F", column(rows, "hessian_fro_max"));
        Plots.lineChart(run.file(RunDirectory.HESSIAN_PLOT), spec.name() + ": input-Hessian Frobenius norm per epoch",
                "epoch", "||H||_F over training samples", true, x, hess);
        if (!monitorColumns(spec).isEmpty()) {
            sharpnessPlot(spec, run, x, rows);
        }
        if (spec.isClassification()) {
            LinkedHashMap<String, double[]> acc = new LinkedHashMap<>();
            acc.put("train accuracy", column(rows, "train_accuracy"));
            acc.put("validation accuracy", column(rows, "val_accuracy"));
            Plots.lineChart(run.file(RunDirectory.ACCURACY_PLOT), spec.name() + ": accuracy per epoch", "epoch",
                    "fraction of samples classified right", false, x, acc);
        }
    }

    /**
     * sharpness.png: the monitored sharpness (and Hessian trace) per epoch, with SGD's stability
     * threshold 2/lr (gradient descent on a quadratic diverges along eigenvalues above it).
     */
    private static void sharpnessPlot(Spec spec, RunDirectory run, double[] x, List<Map<String, Object>> rows)
            throws IOException {
        LinkedHashMap<String, double[]> series = new LinkedHashMap<>();
        if (spec.monitor().sharpnessEvery() != null) {
            series.put("sharpness (largest eigenvalue)", column(rows, SHARPNESS));
        }
        if (spec.monitor().hessianTraceEvery() != null) {
            series.put("trace", column(rows, HESSIAN_TRACE));
        }
        if (spec.train().optimizer() == dev.hesstrain.spec.OptimizerKind.SGD) {
            double[] line = new double[x.length];
            Arrays.fill(line, 2 / spec.train().lr());
            series.put("2/lr = " + (float) (2 / spec.train().lr()), line);
        }
        Plots.lineChart(run.file(RunDirectory.SHARPNESS_PLOT), spec.name() + ": parameter Hessian of the data loss "
                + "per epoch", "epoch", "eigenvalue / trace", true, x, series);
    }

    /** One column of rows read back, as doubles (NaN where empty). */
    private static double[] column(List<Map<String, Object>> rows, String name) {
        return rows.stream().mapToDouble(r -> r.get(name) instanceof Number v ? v.doubleValue() : Double.NaN).toArray();
    }

    /** A run directory's data.npz: the exact inputs and targets of both splits (the train job's and a stacked member's). */
    public static void writeData(RunDirectory run, Split split, NDManager manager) throws IOException {
        try (NDManager m = manager.newSubManager()) {
            NDList list = new NDList();
            list.add(named(m, "x_train", split.train().x(), split.train().n(), split.train().d()));
            list.add(named(m, "y_train", split.train().y(), split.train().n(), split.train().o()));
            list.add(named(m, "x_val", split.validation().x(), split.validation().n(), split.validation().d()));
            list.add(named(m, "y_val", split.validation().y(), split.validation().n(), split.validation().o()));
            AtomicFiles.write(run.file(RunDirectory.DATA), os -> list.encode(os, NDList.Encoding.NPZ));
        }
    }

    private static NDArray named(NDManager m, String name, double[] values, int rows, int cols) {
        NDArray a = m.create(values, new Shape(rows, cols));
        a.setName(name);
        return a;
    }
}
