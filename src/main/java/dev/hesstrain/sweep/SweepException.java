package dev.hesstrain.sweep;

/** A sweep that cannot go on; {@code usage} when it is the user's input (exit 2), else a failure (exit 1). */
public final class SweepException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final boolean usage;

    public SweepException(boolean usage, String message) {
        super(message);
        this.usage = usage;
    }

    public SweepException(boolean usage, String message, Throwable cause) {
        super(message, cause);
        this.usage = usage;
    }

    public boolean usage() {
        return usage;
    }
}
