package dev.hesstrain.cli;

/** hesstrain's exit codes, also listed in every command's --help. */
public final class ExitCodes {
    public static final int OK = 0;
    /** The run failed: it diverged, or something went wrong inside it. */
    public static final int FAILED = 1;
    /** Bad usage or a bad spec, data file, weights or points: nothing ran. */
    public static final int USAGE = 2;
    /** Interrupted by Ctrl-C; the last good checkpoint and a summary were written. */
    public static final int INTERRUPTED = 130;

    private ExitCodes() {}
}
