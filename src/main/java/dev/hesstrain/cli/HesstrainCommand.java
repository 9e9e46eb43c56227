package dev.hesstrain.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The top-level command: it only holds the subcommands. */
@Command(
        name = "hesstrain",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Train neural networks with a penalty on their input Hessian, and inspect their Hessians.",
        subcommands = {TrainCommand.class, InspectHessianCommand.class, SweepCommand.class, PredictCommand.class, picocli.CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:ok",
            "1:the run failed (diverged, or an internal error)",
            "2:bad usage, spec, data, weights or points",
            "130:interrupted (Ctrl-C); the last good checkpoint is kept"
        })
public final class HesstrainCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Mixin
    GlobalOptions global;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "choose a command: train, sweep, inspect-hessian or predict");
    }
}
