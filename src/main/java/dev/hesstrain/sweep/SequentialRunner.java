package dev.hesstrain.sweep;

import dev.hesstrain.runs.RunDirectory;
import dev.hesstrain.spec.Spec;
import dev.hesstrain.train.EpochMetrics;
import dev.hesstrain.train.TrainJob;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/** Trains members one after another in this JVM, each through {@link TrainJob} as {@code train} does. */
public final class SequentialRunner implements MemberRunner {
    private static final Logger LOG = LogManager.getLogger(SequentialRunner.class);
    /** Whether members write TensorBoard event files (sweep --no-tensorboard turns it off). */
    private final boolean tensorBoard;

    public SequentialRunner() {
        this(true);
    }

    public SequentialRunner(boolean tensorBoard) {
        this.tensorBoard = tensorBoard;
    }

    @Override
    public List<Outcome> run(List<Member> members, List<RunDirectory> dirs, boolean resume, Path baseDir,
            Progress progress, Supplier<String> stop) throws IOException {
        List<Outcome> out = new ArrayList<>();
        for (int i = 0; i < members.size(); i++) {
            Member m = members.get(i);
            if ((stop.get() != null)) {
                out.add(new Outcome(m, "interrupted", "not started"));
                continue;
            }
            progress.memberStarted(m);
            TrainJob job = (resume ? TrainJob.resuming(m.spec(), dirs.get(i).path()) : new TrainJob(m.spec(), m.source(), baseDir))
                    .tensorBoard(tensorBoard, m.values());
            String stopped;
            String message = null;
            try {
                TrainJob.Outcome o = job.run(dirs.get(i), new TrainJob.Progress() {
                    @Override
                    public void start(Spec spec, RunDirectory run, int trainSamples, int validationSamples,
                            long parameters, String device) {}

                    @Override
                    public void epoch(EpochMetrics e, int epochs) {
                        progress.epoch(m, e);
                    }

                    @Override
                    public void finish() {}
                }, stop);
                stopped = o.reason().id();
            } catch (IOException | RuntimeException e) {
                stopped = "failed";
                message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
                LOG.error("member {} failed: {}", m.id(), message, e);
            }
            progress.memberFinished(m, stopped);
            out.add(new Outcome(m, stopped, message));
        }
        return out;
    }
}
