package dev.hesstrain.cli;

import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** Options every command inherits: verbosity and stack traces. */
public final class GlobalOptions {
    private boolean[] verbose = new boolean[0];
    private boolean stacktrace;

    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
            description = "Show more on stderr: -v info, -vv debug (DJL's own messages too).")
    public void setVerbose(boolean[] verbose) {
        this.verbose = verbose;
        dev.hesstrain.runs.Logging.setVerbosity(verbose.length);
    }

    @Option(names = {"-x", "--stacktrace"}, scope = ScopeType.INHERIT,
            description = "Print the stack trace of an error, not only its message.")
    public void setStacktrace(boolean stacktrace) {
        this.stacktrace = stacktrace;
    }

    public int verbosity() {
        return verbose.length;
    }

    public boolean stacktrace() {
        return stacktrace;
    }
}
