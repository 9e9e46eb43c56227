package dev.hesstrain.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code hesstrain inspect-hessian}: placeholder until the inspect issue lands. */
@Command(name = "inspect-hessian", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Compute and export Hessians of a run or a spec.")
public final class InspectHessianCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        throw new UserException(ExitCodes.USAGE, "inspect-hessian is not available yet");
    }
}
