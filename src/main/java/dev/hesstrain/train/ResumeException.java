package dev.hesstrain.train;

/** A run that cannot be resumed as asked (no checkpoint, files that do not match): a usage error, exit 2. */
public final class ResumeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ResumeException(String message) {
        super(message);
    }

    public ResumeException(String message, Throwable cause) {
        super(message, cause);
    }
}
