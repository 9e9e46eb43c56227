package dev.hesstrain.cli;

import dev.hesstrain.runs.Logging;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * Options every command inherits: verbosity, applied to the log levels as it is parsed, and
 * stack traces, which the error handler reads from the parse result.
 */
public final class GlobalOptions {
    @Option(names = {"-x", "--stacktrace"}, scope = ScopeType.INHERIT,
            description = "Print the stack trace of an error, not only its message.")
    boolean stacktrace;

    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
            description = "Show more on stderr: -v info, -vv debug (DJL's own messages too).")
    public void setVerbose(boolean[] verbose) {
        Logging.setVerbosity(verbose.length);
    }
}
