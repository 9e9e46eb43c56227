package dev.hesstrain.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --out} and {@code --runs}: where a command's output directory is, shared by every command that writes one. */
public final class OutputOptions {
    @Option(names = {"-o", "--out"}, paramLabel = "DIR",
            description = "The output directory (default: a new one under RUNS named after the spec and the time; "
                    + "for inspect-hessian --run, under RUN/inspect).")
    Path out;

    @Option(names = "--runs", paramLabel = "RUNS", defaultValue = "runs",
            description = "Where new output directories go (default: ${DEFAULT-VALUE}).")
    Path runs;

    /** The directory asked for, or null for a new one under {@link #runs()}. */
    public Path out() {
        return out;
    }

    public Path runs() {
        return runs;
    }
}
