package dev.hesstrain.cli;

import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.logging.log4j.LogManager;

/**
 * Ctrl-C handling for long runs: the first SIGINT asks the run to stop cleanly after the current
 * step (it keeps its checkpoint and writes its summary); a second one ends the process at once.
 */
final class Interrupts {
    private Interrupts() {}

    /** Installs the handler and returns the flag it sets; the default handler is restored by {@link #restore}. */
    @SuppressWarnings("removal")
    static AtomicBoolean install() {
        AtomicBoolean requested = new AtomicBoolean();
        try {
            sun.misc.Signal.handle(new sun.misc.Signal("INT"), sig -> {
                if (requested.getAndSet(true)) {
                    Runtime.getRuntime().halt(ExitCodes.INTERRUPTED);
                }
                LogManager.getLogger(Interrupts.class).warn("stopping after this step (Ctrl-C again to quit at once)");
            });
        } catch (IllegalArgumentException | UnsupportedOperationException | LinkageError e) {
            // no signal support here: the run simply cannot be stopped cleanly
        }
        return requested;
    }
}
