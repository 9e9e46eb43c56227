package dev.hesstrain.cli;

import dev.hesstrain.setup.Preflight;
import dev.hesstrain.spec.SpecException;
import dev.hesstrain.train.ResumeException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IExitCodeExceptionMapper;
import picocli.CommandLine.ParseResult;

/** Builds the fully configured command line, for {@code main} and for tests alike. */
public final class Cli {
    private Cli() {}

    public static CommandLine create(PrintWriter out, PrintWriter err) {
        CommandLine cmd = new CommandLine(new HesstrainCommand());
        cmd.setOut(out);
        cmd.setErr(err);
        cmd.setCaseInsensitiveEnumValuesAllowed(true);
        cmd.setExecutionExceptionHandler(new ErrorHandler());
        cmd.setExitCodeExceptionMapper(exitCodes());
        cmd.setParameterExceptionHandler((ex, args) -> {
            CommandLine c = ex.getCommandLine();
            c.getErr().println("error: " + ex.getMessage());
            c.getErr().println("Run '" + c.getCommandSpec().qualifiedName() + " --help' for usage.");
            c.getErr().flush();
            return ExitCodes.USAGE;
        });
        return cmd;
    }

    static IExitCodeExceptionMapper exitCodes() {
        return t -> {
            if (t instanceof UserException u) {
                return u.exitCode();
            }
            return usage(t) ? ExitCodes.USAGE : ExitCodes.FAILED;
        };
    }

    /**
     * Errors that are the user's to fix, exit 2 with their message alone: a bad spec, a run too
     * large for this machine (its numbers and what would fit), a run that cannot be resumed.
     */
    static boolean usage(Throwable t) {
        return t instanceof SpecException || t instanceof Preflight.TooLarge || t instanceof ResumeException;
    }

    /** Prints an error as one message; the stack trace only with -x/--stacktrace. */
    static final class ErrorHandler implements IExecutionExceptionHandler {
        @Override
        public int handleExecutionException(Exception ex, CommandLine cmd, ParseResult parseResult) {
            PrintWriter err = cmd.getErr();
            boolean trace = stacktraceRequested(parseResult);
            String msg = ex.getMessage() == null ? ex.getClass().getSimpleName() : ex.getMessage();
            if (ex instanceof UserException || usage(ex)) {
                err.println("error: " + msg);
            } else {
                err.println("error: " + msg + " (" + ex.getClass().getSimpleName() + "; run with -x for the stack trace)");
            }
            if (trace) {
                ex.printStackTrace(err);
            }
            err.flush();
            return exitCodes().getExitCode(ex);
        }

        /** Whether -x was given on any command of the line (it is inherited by subcommands). */
        private static boolean stacktraceRequested(ParseResult pr) {
            for (ParseResult p = pr; p != null; p = p.subcommand()) {
                if (p.hasMatchedOption("-x")) {
                    return true;
                }
            }
            return false;
        }
    }
}
