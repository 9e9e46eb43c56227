package dev.hesstrain.sweep;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.hesstrain.data.Dataset;
import dev.hesstrain.data.Split;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Weights;
import dev.hesstrain.runs.AtomicFiles;
import dev.hesstrain.runs.MetricsCsv;
import dev.hesstrain.runs.Provenance;
import dev.hesstrain.runs.RunDirectory;
import dev.hesstrain.runs.RunSummary;
import dev.hesstrain.runs.TensorBoard;
import dev.hesstrain.spec.Spec;
import dev.hesstrain.spec.SpecLoader;
import dev.hesstrain.train.EpochMetrics;
import dev.hesstrain.train.EarlyStopping;
import dev.hesstrain.train.Memory;
import dev.hesstrain.setup.Setup;
import dev.hesstrain.train.SharpnessMonitor;
import dev.hesstrain.train.StopReason;
import dev.hesstrain.train.StopRequest;
import dev.hesstrain.train.TrainJob;
import dev.hesstrain.train.Trainer;
import dev.hesstrain.train.TrainingListener;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Trains a structure group as ONE stacked program ({@link Trainer}: the members' parameters
 * on a leading axis, every op of a step serving all of them), and writes each member's standard run
 * directory as {@code TrainJob} does: spec.yaml, data.npz, metrics.csv and weights at every
 * checkpoint, then loss.png, hessian.png and summary.json from the member's final weights. Groups
 * the stacked trainer cannot take (one member, a penalty whose pass has no replicated form for the
 * model: {@link Trainer#penaltyRefused}, specs that differ beyond λ, lr, momentum and seed)
 * go through the {@link SequentialRunner},
 * with a log line saying why.
 */
public final class StackedRunner implements MemberRunner {
    private static final Logger LOG = LogManager.getLogger(StackedRunner.class);
    /** Whether members write TensorBoard event files (sweep --no-tensorboard turns it off). */
    private final boolean tensorBoard;

    public StackedRunner() {
        this(true);
    }

    public StackedRunner(boolean tensorBoard) {
        this.tensorBoard = tensorBoard;
    }

    @Override
    public List<Outcome> run(List<Member> members, List<RunDirectory> dirs, boolean resume, Path baseDir,
            Progress progress, Supplier<String> stop) throws IOException {
        List<Spec> specs = members.stream().map(Member::spec).toList();
        if (members.size() < 2) {
            return new SequentialRunner(tensorBoard).run(members, dirs, resume, baseDir, progress, stop);
        }
        String differ = Trainer.incompatibility(specs);
        if (differ != null) {
            return sequential(members, dirs, resume, baseDir, progress, stop, differ);
        }
        int r = members.size();
        // a resumed member trains on its run's own data.npz and continues from its checkpoint; all of
        // a resumed group stand at one position (SweepJob groups them so)
        Trainer.Position at = resume ? TrainJob.checkpointPosition(dirs.get(0).path()) : null;
        List<Split> splits = new ArrayList<>();
        for (int i = 0; i < r; i++) {
            Member m = members.get(i);
            splits.add((resume ? TrainJob.resuming(m.spec(), dirs.get(i).path()) : new TrainJob(m.spec(), m.source(), baseDir))
                    .loadData());
        }
        Device device = Setup.device(specs.get(0), members.get(0).source());
        try (NDManager manager = NDManager.newBaseManager(device)) {
            List<Network> nets = new ArrayList<>();
            for (int i = 0; i < r; i++) {
                Dataset tr = splits.get(i).train();
                nets.add(Setup.buildNetwork(specs.get(i), members.get(i).id(), tr.d(), tr.o(),
                        Setup.classes(specs.get(i), splits.get(i)), manager));
            }
            String why = null;
            String refused = specs.stream().anyMatch(s -> s.penalty().active()) ? Trainer.penaltyRefused(nets.get(0)) : null;
            if (!nets.get(0).replicable()) {
                why = "the model has a layer without a replicated pass";
            } else if (refused != null) {
                why = refused;
            } else if (nets.stream().anyMatch(n -> n.parameterCount() != nets.get(0).parameterCount())) {
                why = "the members' networks differ in size (their splits hold different numbers of classes)";
            }
            if (why != null) {
                nets.forEach(Network::close);
                return sequential(members, dirs, resume, baseDir, progress, stop, why);
            }
            List<MetricsCsv> metrics = new ArrayList<>();
            List<Provenance> provenance = new ArrayList<>();
            List<MemberLog> logs = new ArrayList<>();
            List<TensorBoard> events = new ArrayList<>();
            int[] kept = new int[r]; // the epoch of each member's last checkpoint written (-1: none)
            java.util.Arrays.fill(kept, resume ? at.epochs() : -1);
            try {
                for (int i = 0; i < r; i++) {
                    Spec spec = specs.get(i);
                    RunDirectory run = dirs.get(i);
                    Dataset tr = splits.get(i).train();
                    Dataset va = splits.get(i).validation();
                    MetricsCsv csv = new MetricsCsv(TrainJob.metricsColumns(spec));
                    if (resume) {
                        // the rows up to the checkpoint stay; no summary of the run before, which would
                        // read as this one's until this one writes its own
                        TrainJob.restoreMetrics(csv, run.file(RunDirectory.METRICS), at.epochs());
                        Files.deleteIfExists(run.file(RunDirectory.SUMMARY));
                    } else {
                        AtomicFiles.writeString(run.file(RunDirectory.SPEC), SpecLoader.toYaml(spec));
                        TrainJob.writeData(run, splits.get(i), manager);
                    }
                    String dataSha = Dataset.sha256(new long[] {tr.n(), va.n(), tr.d(), tr.o()}, tr.x(), tr.y(), va.x(), va.y());
                    provenance.add(Provenance.of(Engine.getDjlVersion(), Engine.getInstance().getVersion(), device.toString(),
                            spec.seed(), SpecLoader.hash(spec), dataSha));
                    metrics.add(csv);
                    events.add(TensorBoard.open(run.path(), tensorBoard)); // a resumed member adds a new file
                    if (resume) {
                        events.get(i).resumedAt(at.epochs() + 1);
                    } else {
                        events.get(i).sessionStart(members.get(i).values());
                    }
                    MemberLog log = new MemberLog(run.file(RunDirectory.LOG), resume);
                    logs.add(log);
                    Logger job = log.logger(TrainJob.class);
                    for (String w : new TrainJob(spec, members.get(i).source(), baseDir).warnings()) {
                        job.warn(w);
                    }
                    job.info("run {}: member {} of a stacked group of {} ({} ... {}): {} training and {} validation samples "
                            + "from {}, {} parameters, on {}", run.path(), i, r, members.get(0).id(), members.get(r - 1).id(),
                            tr.n(), va.n(), tr.source(), nets.get(i).parameterCount(), device);
                    if (resume) {
                        TrainJob.logResumed(job, at, spec.train().epochs());
                    }
                    progress.memberStarted(members.get(i));
                }
                LOG.info("training {} members as one stacked program ({} parameters each)", r, nets.get(0).parameterCount());
                Trainer.Result result;
                List<EarlyStopping> stoppers = new ArrayList<>(); // each member's early stopping record, or null
                Memory memory = new Memory();
                List<Outcome> out = new ArrayList<>();
                SharpnessMonitor monitor;
                try (Trainer trainer = new Trainer(specs, nets, splits.stream().map(Split::train).toList(),
                        splits.stream().map(Split::validation).toList())) {
                    if (resume) {
                        trainer.resume(dirs.stream().map(d -> d.file(RunDirectory.CHECKPOINT)).toList());
                    }
                    // the monitor measures each member on its current weights, copied into a spare network
                    // of the members' structure (closed with the members' networks)
                    java.util.function.Supplier<Network> structure = () -> {
                        Dataset tr = splits.get(0).train();
                        Network n = Setup.buildNetwork(specs.get(0), members.get(0).id(), tr.d(), tr.o(),
                                Setup.classes(specs.get(0), splits.get(0)), manager);
                        nets.add(n);
                        return n;
                    };
                    Network spare = SharpnessMonitor.wanted(specs) ? structure.get() : null;
                    SharpnessMonitor[] reader = new SharpnessMonitor[1]; // the monitor whose readings the rows take
                    TrainingListener files = new TrainingListener() {
                        @Override
                        public void onEpoch(Trainer.Loop loop, int member, EpochMetrics m) {
                            Map<String, Object> row = TrainJob.metricsRow(specs.get(member), m,
                                    reader[0] == null ? SharpnessMonitor.Reading.NONE : reader[0].reading(member, m.epoch()));
                            metrics.get(member).add(row);
                            events.get(member).add(row);
                            progress.epoch(members.get(member), m);
                            TrainJob.logEpoch(logs.get(member).logger(TrainJob.class), specs.get(member), m, loop);
                        }

                        @Override
                        public void onDiverged(Trainer.Loop loop, int member, int epoch, int lastGood) {
                            logs.get(member).logger(Trainer.class).warn("epoch {}: the loss is not finite; stopping this "
                                    + "member and keeping the checkpoint of epoch {}", epoch, lastGood);
                        }

                        @Override
                        public void onCheckpoint(Trainer.Loop loop, int epoch, List<Integer> saved) {
                            try {
                                for (int i : saved) {
                                    // as TrainJob: metrics.csv first and the checkpoint last, so that the rows up
                                    // to the checkpoint a resumed run continues from are always in metrics.csv
                                    Network net = nets.get(i);
                                    metrics.get(i).save(dirs.get(i).file(RunDirectory.METRICS));
                                    AtomicFiles.write(dirs.get(i).file(RunDirectory.WEIGHTS), os -> Weights.write(net, os));
                                    trainer.writeCheckpoint(i, dirs.get(i).file(RunDirectory.CHECKPOINT));
                                    logs.get(i).logger(TrainJob.class).info("checkpoint at epoch {}", epoch);
                                    kept[i] = epoch;
                                }
                            } catch (IOException e) {
                                throw new UncheckedIOException(e);
                            }
                        }
                    };
                    // the monitor hands the rows on once their readings are in; in the background, on a network of its own
                    Network worker = spare != null && SharpnessMonitor.backgroundByDefault() ? structure.get() : null;
                    monitor = spare == null ? null : new SharpnessMonitor(specs, splits.stream().map(Split::train).toList(),
                            spare, worker, files, i -> logs.get(i).logger(TrainJob.class));
                    reader[0] = monitor;
                    List<TrainingListener> listeners = new ArrayList<>();
                    listeners.add(monitor != null ? monitor : files); // the monitor calls the rows after itself
                    listeners.addAll(List.of(memory, new StopRequest(stop)));
                    result = trainer.run(listeners);
                    for (int i = 0; i < r; i++) {
                        stoppers.add(trainer.earlyStopping(i));
                    }
                }
                for (int i = 0; i < r; i++) {
                    Spec spec = specs.get(i);
                    RunDirectory run = dirs.get(i);
                    StopReason reason = result.reasons().get(i);
                    String detail = result.details().get(i);
                    metrics.get(i).save(run.file(RunDirectory.METRICS));
                    events.get(i).sessionEnd(reason.id());
                    // the summary before the plots, as in TrainJob; resident memory is the whole stacked program's
                    try (Trainer evaluator = new Trainer(spec, nets.get(i), splits.get(i).train(), splits.get(i).validation())) {
                        RunSummary summary = TrainJob.monitored(TrainJob.summary(spec, evaluator, splits.get(i), result, i,
                                resume ? at.epochs() : null, provenance.get(i), nets.get(i), memory.readings())
                                .stacked(r, result.medianStepMillis()), monitor, i);
                        EarlyStopping es = stoppers.get(i);
                        if (es != null) {
                            summary = summary.withEarlyStopping(Trainer.monitored(spec, splits.get(i).validation().n()),
                                    es.bestEpoch(), es.best());
                        }
                        summary.write(run.file(RunDirectory.SUMMARY));
                    }
                    TrainJob.plots(spec, run);
                    Logger job = logs.get(i).logger(TrainJob.class);
                    if (reason == StopReason.INTERRUPTED) {
                        job.warn("{} after epoch {}; the weights of epoch {} are saved", detail,
                                result.epochsRun()[i],
                                result.lastGoodEpoch()[i]);
                    }
                    job.info("run stopped: {} ({})", reason.id(), detail);
                    progress.memberFinished(members.get(i), reason.id());
                    out.add(new Outcome(members.get(i), reason.id(), null));
                }
                nets.forEach(Network::close);
                events.forEach(TensorBoard::close); // the last records: a failure to write them is the sweep's
                return out;
            } catch (IOException e) { // a full disk, a folder gone read-only: one message, naming what is kept
                throw TrainJob.WriteFailed.members(dirs.get(0).path().getParent(), e, kept);
            } catch (UncheckedIOException e) {
                throw TrainJob.WriteFailed.members(dirs.get(0).path().getParent(), e.getCause(), kept);
            } finally {
                events.forEach(TensorBoard::closeAfterFailure); // nothing left to write after the close above
                logs.forEach(MemberLog::close);
            }
        }
    }

    /** A group the stacked trainer cannot take, one member after another, saying why. */
    private List<Outcome> sequential(List<Member> members, List<RunDirectory> dirs, boolean resume, Path baseDir,
            Progress progress, Supplier<String> stop, String why) throws IOException {
        LOG.info("the {} members {} ... {} train one after another, not as one stacked program: {}", members.size(),
                members.get(0).id(), members.get(members.size() - 1).id(), why);
        return new SequentialRunner(tensorBoard).run(members, dirs, resume, baseDir, progress, stop);
    }
}
