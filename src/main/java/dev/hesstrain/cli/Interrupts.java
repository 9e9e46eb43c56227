package dev.hesstrain.cli;

import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.logging.log4j.LogManager;

/**
 * Ctrl-C handling for long runs: the first SIGINT (or SIGTERM) asks the run to stop cleanly after
 * the current step (it keeps its checkpoint and writes its summary); a second one ends the process
 * at once.
 */
final class Interrupts {
    private Interrupts() {}

    /** Installs the handlers for the rest of the process and returns the flag they set. */
    @SuppressWarnings("removal")
    static AtomicBoolean install() {
        AtomicBoolean requested = new AtomicBoolean();
        for (String name : new String[] {"INT", "TERM"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> {
                    if (requested.getAndSet(true)) {
                        Runtime.getRuntime().halt(ExitCodes.INTERRUPTED);
                    }
                    LogManager.getLogger(Interrupts.class)
                            .warn("SIG{}: stopping after this step (again to quit at once)", sig.getName());
                });
            } catch (IllegalArgumentException | UnsupportedOperationException | LinkageError e) {
                // no such signal here: the run simply cannot be stopped cleanly by it
            }
        }
        return requested;
    }
}
