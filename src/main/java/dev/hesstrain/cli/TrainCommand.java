package dev.hesstrain.cli;

import dev.hesstrain.runs.RunDirectory;
import dev.hesstrain.runs.RunSummary;
import dev.hesstrain.setup.Preflight;
import dev.hesstrain.setup.Setup;
import dev.hesstrain.spec.Spec;
import dev.hesstrain.spec.SpecException;
import dev.hesstrain.spec.SpecLoader;
import dev.hesstrain.train.Resume;
import dev.hesstrain.train.ResumeException;
import dev.hesstrain.train.StopReason;
import dev.hesstrain.train.TrainJob;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.logging.log4j.LogManager;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code hesstrain train}: one training run from a spec into a run directory. */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Train a spec's model with the input-Hessian penalty into a run directory.",
        description = "Train the model of a YAML or JSON spec with the input-Hessian penalty and write a run "
                + "directory: spec.yaml, metrics.csv, summary.json, model.safetensors, data.npz, loss.png, "
                + "hessian.png, accuracy.png (classifiers), train.log.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:the run completed",
            "1:the run diverged (the last good checkpoint is kept) or failed",
            "2:bad usage, spec or data",
            "130:interrupted (Ctrl-C); the last good checkpoint is kept"
        })
public final class TrainCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    CommandSpec command;

    @Mixin
    SpecOptions specOptions;

    @Mixin
    OutputOptions output;

    @Mixin
    OverwriteOption overwrite;

    @Mixin
    ThreadsOption threads;

    @Option(names = "--resume", paramLabel = "DIR",
            description = "Continue the stopped, interrupted or killed run in DIR from its last checkpoint, with its "
                    + "own spec and data (--set train.epochs=N may raise its epochs; a run that completed them has "
                    + "nothing to do).")
    Path resume;

    @Option(names = "--no-tensorboard",
            description = "Write no TensorBoard event file (events.out.tfevents.*) into the run directory.")
    boolean noTensorBoard;

    @Override
    public Integer call() throws IOException {
        if (resume != null) {
            return resume();
        }
        int intraOp = threads.orElse(1);
        Path config = specOptions.required(command);
        Spec spec = specOptions.load(command); // before the engine loads: a bad spec is reported at once
        Setup.threads(intraOp);
        TrainJob job = new TrainJob(spec, config.toString(), Path.of("").toAbsolutePath()).tensorBoard(!noTensorBoard, null);
        try {
            preflight(job); // fail on bad data, device, shapes or sizes before creating anything
        } catch (SpecException e) {
            throw SpecLoader.byOverride(e, specOptions.overrides());
        }
        PrintWriter err = command.commandLine().getErr();
        AtomicReference<String> stop = Interrupts.install();
        try (RunDirectory run = claim(output.runs(), spec.name(), output.out(), overwrite.mode())) {
            return finish(spec, run(job, run, err, stop), run);
        }
    }

    /** Runs the job; files that cannot be written end the run with one message (exit 1) naming the checkpoint kept. */
    private static TrainJob.Outcome run(TrainJob job, RunDirectory run, PrintWriter err, AtomicReference<String> stop)
            throws IOException {
        try {
            return job.run(run, new ConsoleProgress(err, System.console() != null), stop::get);
        } catch (TrainJob.WriteFailed e) {
            throw new UserException(ExitCodes.FAILED, e.getMessage(), e);
        }
    }

    /** The job's preflight; a run that will not fit in memory is bad usage, with the numbers. */
    private static void preflight(TrainJob job) {
        try {
            job.preflight();
        } catch (Preflight.TooLarge e) {
            throw new UserException(ExitCodes.USAGE, e.getMessage(), e);
        }
    }

    /** The final table, and the exit code of how the run stopped. */
    private int finish(Spec spec, TrainJob.Outcome outcome, RunDirectory run) {
        printSummary(command.commandLine().getOut(), spec, outcome);
        if (outcome.reason() == StopReason.DIVERGED) {
            LogManager.getLogger(TrainCommand.class).error("the run diverged; the checkpoint of epoch {} is kept in {}",
                    outcome.summary().checkpointEpoch(), run.path());
            return ExitCodes.FAILED;
        }
        return outcome.reason() == StopReason.INTERRUPTED ? ExitCodes.INTERRUPTED : ExitCodes.OK;
    }

    /**
     * {@code --resume DIR}: the spec is the run's own (a --config or --set that changes anything but
     * train.epochs is refused), the data its data.npz, and the run continues from its checkpoint
     * ({@link Resume} decides what may continue).
     */
    private int resume() throws IOException {
        if (output.out() != null && !output.out().toAbsolutePath().normalize().equals(resume.toAbsolutePath().normalize())) {
            throw new UserException(ExitCodes.USAGE, "--resume continues the run in its own directory; leave out --out");
        }
        if (overwrite.mode() == RunDirectory.Mode.OVERWRITE) {
            throw new UserException(ExitCodes.USAGE, "--resume and --overwrite contradict each other: give one");
        }
        try {
            Path specFile = Resume.specFile(resume);
            Spec asked = specOptions.given() ? specOptions.load(command) : SpecLoader.load(specFile, specOptions.overrides());
            Resume.requireSameSpec(resume, asked);
            Setup.threads(threads.orElse(1));
            PrintWriter err = command.commandLine().getErr();
            AtomicReference<String> stop = Interrupts.install();
            try (RunDirectory run = claim(output.runs(), asked.name(), resume, RunDirectory.Mode.RESUME)) {
                if (Resume.plan(resume, asked).nothingToDo()) {
                    command.commandLine().getOut().printf(Locale.ROOT, "nothing to do: the run in %s completed its %d "
                            + "epochs (raise them with --set train.epochs=N to continue it)%n", resume, asked.train().epochs());
                    command.commandLine().getOut().flush();
                    return ExitCodes.OK;
                }
                TrainJob job = TrainJob.resuming(asked, resume).tensorBoard(!noTensorBoard, null);
                preflight(job);
                return finish(asked, run(job, run, err, stop), run);
            }
        } catch (ResumeException e) {
            throw new UserException(ExitCodes.USAGE, "--resume: " + e.getMessage(), e);
        }
    }

    /** The run's directory, held for the run's life; a directory in use or not empty is a usage error. */
    static RunDirectory claim(java.nio.file.Path runs, String name, java.nio.file.Path out, RunDirectory.Mode mode) {
        try {
            return RunDirectory.claim(runs, name, out, mode);
        } catch (RunDirectory.NotEmpty e) {
            throw new UserException(ExitCodes.USAGE, e.getMessage() + ", or choose another --out", e);
        } catch (IOException e) {
            throw new UserException(ExitCodes.USAGE, e.getMessage(), e);
        }
    }


    /** The final table; figures that are not defined (no validation rows) are left out, not shown as NaN. */
    static void printSummary(PrintWriter out, Spec spec, TrainJob.Outcome outcome) {
        RunSummary s = outcome.summary();
        out.println();
        out.printf(Locale.ROOT, "%-20s %s%n", "run", outcome.run().path());
        out.printf(Locale.ROOT, "%-20s %s (%d epochs, %d steps)%n", "stopped", s.stopped(), s.epochsRun(), s.steps());
        Map<String, Double> rows = new LinkedHashMap<>();
        rows.put("train_" + spec.loss().id(), s.figure("train_" + spec.loss().id()));
        rows.put("val_" + spec.loss().id(), s.figure("val_" + spec.loss().id()));
        rows.put("train_accuracy", s.trainAccuracy());
        rows.put("val_accuracy", s.valAccuracy());
        rows.put("penalty", s.penalty());
        rows.put("hessian_fro_mean", s.hessianFroMean());
        rows.put("hessian_fro_max", s.hessianFroMax());
        rows.put("wall_ms_per_step", s.wallMsPerStep());
        rows.put("ms_per_step", s.msPerStep()); // the median step
        rows.forEach((key, v) -> {
            if (v != null && !v.isNaN()) {
                out.printf(Locale.ROOT, "%-20s %s%n", key, String.format(Locale.ROOT, "%.6g", v));
            }
        });
        out.flush();
    }
}
