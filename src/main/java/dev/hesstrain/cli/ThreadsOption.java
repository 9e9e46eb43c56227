package dev.hesstrain.cli;

import picocli.CommandLine.Option;

/** {@code --threads N}: how many threads a command computes on; each command states its default. */
public final class ThreadsOption {
    @Option(names = "--threads", paramLabel = "N",
            description = "Threads: for train, PyTorch's intra-op threads (default 1: the small models hesstrain trains "
                    + "run fastest on one); for sweep, the same (default: the cores that other work leaves idle at the "
                    + "start, as a stacked program's arrays are the members' together; 1 in a Slurm task); for inspect-hessian, the workers that compute the rows "
                    + "of full and diag, each op on one thread (default: the cores).")
    Integer threads;

    /** The thread count given, or {@code fallback}; a usage error when it is below one. */
    public int orElse(int fallback) {
        if (threads == null) {
            return fallback;
        }
        if (threads < 1) {
            throw new UserException(ExitCodes.USAGE, "--threads must be at least 1, found " + threads);
        }
        return threads;
    }

    /** The thread count as given, or null (the command checks it). */
    public Integer value() {
        return threads;
    }
}
