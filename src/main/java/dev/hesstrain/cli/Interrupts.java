package dev.hesstrain.cli;

import dev.hesstrain.runs.AtomicFiles;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.logging.log4j.LogManager;

/**
 * Ctrl-C and schedulers' SIGTERM for long runs: the first SIGINT or SIGTERM asks the run to stop
 * cleanly after the current step (it keeps its checkpoint and writes its summary) and is recorded
 * by name; a second one deletes the temporary files of writes in progress and ends the process at
 * once.
 */
final class Interrupts {
    private Interrupts() {}

    /**
     * Installs the handlers for the rest of the process and returns what they set: null until a
     * signal arrives, then its name ({@code SIGINT}, {@code SIGTERM}).
     */
    @SuppressWarnings("removal")
    static AtomicReference<String> install() {
        AtomicReference<String> requested = new AtomicReference<>();
        for (String name : new String[] {"INT", "TERM"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> {
                    if (requested.getAndUpdate(old -> old == null ? "SIG" + sig.getName() : old) != null) {
                        AtomicFiles.deleteInFlight();
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
