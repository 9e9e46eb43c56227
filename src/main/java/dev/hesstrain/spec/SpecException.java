package dev.hesstrain.spec;

/**
 * A problem with an experiment spec. It names the field path (such as {@code train.epochs}) and,
 * where known, the file with line and column.
 */
public final class SpecException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String file;
    private final String field;
    private final int line;
    private final int column;
    private final String problem;

    public SpecException(String file, String field, int line, int column, String problem) {
        super(format(file, field, line, column, problem));
        this.file = file;
        this.field = field;
        this.line = line;
        this.column = column;
        this.problem = problem;
    }

    /** A problem with one field, before the file and location are known. */
    public SpecException(String field, String problem) {
        this(null, field, 0, 0, problem);
    }

    private static String format(String file, String field, int line, int column, String problem) {
        StringBuilder sb = new StringBuilder();
        if (file != null) {
            sb.append(file);
            if (line > 0) {
                sb.append(':').append(line).append(':').append(column);
            }
            sb.append(": ");
        }
        if (field != null && !field.isEmpty()) {
            sb.append(field).append(": ");
        }
        return sb.append(problem).toString();
    }

    /** The same problem, placed in a file. */
    public SpecException in(String file, int line, int column) {
        return new SpecException(file, field, line, column, problem);
    }

    /** The same problem with the field path prefixed by {@code parent}. */
    public SpecException under(String parent) {
        if (parent == null || parent.isEmpty()) {
            return this;
        }
        String f = field == null || field.isEmpty() ? parent : parent + "." + field;
        return new SpecException(file, f, line, column, problem);
    }

    public String file() {
        return file;
    }

    public String field() {
        return field;
    }

    public int line() {
        return line;
    }

    public int column() {
        return column;
    }

    public String problem() {
        return problem;
    }
}
