package dev.hesstrain.cli;

import dev.hesstrain.runs.RunDirectory;
import picocli.CommandLine.Option;

/** {@code --overwrite}: an output directory that already holds files is cleared instead of refused. */
public final class OverwriteOption {
    @Option(names = "--overwrite",
            description = "Delete what the output directory holds before writing into it (without it, a directory "
                    + "that is not empty is refused).")
    boolean overwrite;

    /** The claim mode for a fresh output. */
    public RunDirectory.Mode mode() {
        return overwrite ? RunDirectory.Mode.OVERWRITE : RunDirectory.Mode.NEW;
    }
}
