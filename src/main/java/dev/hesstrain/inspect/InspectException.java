package dev.hesstrain.inspect;

/** A problem the user can fix (bad options, points, vector or weights): reported as its message alone. */
public final class InspectException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public InspectException(String message) {
        super(message);
    }

    public InspectException(String message, Throwable cause) {
        super(message, cause);
    }
}
