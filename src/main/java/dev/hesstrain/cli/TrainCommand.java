package dev.hesstrain.cli;

import dev.hesstrain.runs.RunDirectory;
import dev.hesstrain.setup.Setup;
import dev.hesstrain.spec.Spec;
import dev.hesstrain.train.StopReason;
import dev.hesstrain.train.TrainJob;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
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
    ThreadsOption threads;

    @Override
    public Integer call() throws IOException {
        int intraOp = threads.orElse(1);
        Path config = specOptions.required(command);
        Spec spec = specOptions.load(command); // before the engine loads: a bad spec is reported at once
        Setup.threads(intraOp);
        TrainJob job = new TrainJob(spec, config.toString(), Path.of("").toAbsolutePath());
        job.preflight(); // fail on bad data, device or shapes before creating anything
        RunDirectory run;
        try {
            run = RunDirectory.create(output.runs(), spec.name(), output.out());
        } catch (IOException e) {
            throw new UserException(ExitCodes.USAGE, e.getMessage(), e);
        }
        PrintWriter err = command.commandLine().getErr();
        AtomicBoolean stop = Interrupts.install();
        TrainJob.Outcome outcome = job.run(run, new ConsoleProgress(err, System.console() != null), stop::get);
        printSummary(command.commandLine().getOut(), spec, outcome);
        if (outcome.reason() == StopReason.DIVERGED) {
            LogManager.getLogger(TrainCommand.class).error("the run diverged; the checkpoint of epoch {} is kept in {}",
                    outcome.summary().get("checkpoint_epoch"), run.path());
            return ExitCodes.FAILED;
        }
        return outcome.reason() == StopReason.INTERRUPTED ? ExitCodes.INTERRUPTED : ExitCodes.OK;
    }

    static void printSummary(PrintWriter out, Spec spec, TrainJob.Outcome outcome) {
        Map<String, Object> s = outcome.summary();
        out.println();
        out.printf(Locale.ROOT, "%-20s %s%n", "run", outcome.run().path());
        out.printf(Locale.ROOT, "%-20s %s (%s epochs, %s steps)%n", "stopped", s.get("stopped"), s.get("epochs_run"), s.get("steps"));
        for (String key : new String[] {"train_" + spec.loss(), "val_" + spec.loss(), "val_accuracy", "penalty",
                "hessian_fro_mean", "hessian_fro_max", "ms_per_step"}) {
            if (!s.containsKey(key)) {
                continue; // val_accuracy: classification only
            }
            Object v = s.get(key);
            out.printf(Locale.ROOT, "%-20s %s%n", key, v instanceof Double d ? String.format(Locale.ROOT, "%.6g", d) : v);
        }
        out.flush();
    }
}
