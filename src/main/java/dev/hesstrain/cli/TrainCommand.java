package dev.hesstrain.cli;

import dev.hesstrain.runs.RunDirectory;
import dev.hesstrain.runs.RunSummary;
import dev.hesstrain.setup.Setup;
import dev.hesstrain.spec.Spec;
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

/** {@code hesstrain train}: one training run from a spec into a run directory. */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Train a spec's model with the input-Hessian penalty into a run directory.",
        description = "Train the model of a YAML or JSON spec with the input-Hessian penalty and write a run "
                + "directory: spec.yaml, metrics.csv, summary.json, model.safetensors, data.npz, loss.png, "
                + "hessian.png, train.log.",
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

    @Override
    public Integer call() throws IOException {
        int intraOp = threads.orElse(1);
        Path config = specOptions.required(command);
        Spec spec = specOptions.load(command); // before the engine loads: a bad spec is reported at once
        Setup.threads(intraOp);
        TrainJob job = new TrainJob(spec, config.toString(), Path.of("").toAbsolutePath());
        job.preflight(); // fail on bad data, device or shapes before creating anything
        PrintWriter err = command.commandLine().getErr();
        AtomicReference<String> stop = Interrupts.install();
        try (RunDirectory run = claim(output.runs(), spec.name(), output.out(), overwrite.mode())) {
            TrainJob.Outcome outcome = job.run(run, new ConsoleProgress(err, System.console() != null), stop::get);
            printSummary(command.commandLine().getOut(), spec, outcome);
            if (outcome.reason() == StopReason.DIVERGED) {
                LogManager.getLogger(TrainCommand.class).error("the run diverged; the checkpoint of epoch {} is kept in {}",
                        outcome.summary().checkpointEpoch(), run.path());
                return ExitCodes.FAILED;
            }
            return outcome.reason() == StopReason.INTERRUPTED ? ExitCodes.INTERRUPTED : ExitCodes.OK;
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
        rows.put("val_accuracy", s.valAccuracy());
        rows.put("penalty", s.penalty());
        rows.put("hessian_fro_mean", s.hessianFroMean());
        rows.put("hessian_fro_max", s.hessianFroMax());
        rows.put("ms_per_step", s.msPerStep());
        rows.forEach((key, v) -> {
            if (v != null && !v.isNaN()) {
                out.printf(Locale.ROOT, "%-20s %s%n", key, String.format(Locale.ROOT, "%.6g", v));
            }
        });
        out.flush();
    }
}
