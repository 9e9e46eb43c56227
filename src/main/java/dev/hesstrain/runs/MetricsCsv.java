package dev.hesstrain.runs;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * A table of metric rows with a fixed column list, written as CSV. Each row is formatted into its
 * line when added, and only the lines not yet saved are held: {@link #save} appends them to what
 * the file holds (a new file, atomically, at checkpoint cadence). A sweep of 16 members kept every
 * row as a map of boxed values, about 900 bytes each: its resident memory grew from 451 to 774 MB
 * over steps 2,000 to 20,000.
 *
 * <p>Formatting: doubles use {@link String#valueOf(double)} (shortest round-trip repr, e.g. {@code 0.1},
 * {@code 1.0E-5}), floats {@link String#valueOf(float)}, integral types as integers, NaN as {@code nan},
 * infinities as {@code inf} / {@code -inf}, missing or null values as an empty field. Text containing a comma,
 * quote or line break is quoted RFC 4180 style. Lines end with {@code \n}.
 */
public final class MetricsCsv {

    private final List<String> columns;
    /** The lines of the rows added since the last save: each row is formatted once, when added. */
    private final StringBuilder body = new StringBuilder();
    /** The file that holds the rows before {@link #body}, or null before the first save. */
    private Path savedTo;

    /** @param columns the column names, in output order; must be distinct */
    public MetricsCsv(List<String> columns) {
        if (new LinkedHashSet<>(columns).size() != columns.size()) {
            throw new IllegalArgumentException("duplicate column names: " + columns);
        }
        this.columns = List.copyOf(columns);
    }

    /** Convenience constructor. */
    public MetricsCsv(String... columns) {
        this(List.of(columns));
    }

    /** The column names in output order. */
    public List<String> columns() {
        return columns;
    }

    /**
     * Appends a row. Keys must be column names (unknown keys are rejected to catch typos); columns that are
     * absent stay empty. The values are formatted at once (the map may be reused).
     */
    public void add(Map<String, ?> row) {
        for (String key : row.keySet()) {
            if (!columns.contains(key)) {
                throw new IllegalArgumentException("unknown metrics column '" + key + "'; columns are " + columns);
            }
        }
        List<String> fields = new ArrayList<>(columns.size());
        for (String c : columns) {
            fields.add(format(row.get(c)));
        }
        appendLine(body, fields);
    }

    /**
     * Writes the header and every row added so far to {@code file} atomically: the first save
     * writes them all, a later one copies the file and appends the rows added since. Every save of
     * one table goes to the same file.
     */
    public void save(Path file) throws IOException {
        if (savedTo != null && !savedTo.equals(file)) {
            throw new IllegalStateException("the rows of this table are in " + savedTo + ", not " + file);
        }
        boolean append = savedTo != null;
        byte[] lines = body.toString().getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(file, out -> {
            if (append) {
                Files.copy(file, out);
            } else {
                StringBuilder header = new StringBuilder();
                appendLine(header, columns);
                out.write(header.toString().getBytes(StandardCharsets.UTF_8));
            }
            out.write(lines);
        });
        savedTo = file;
        body.setLength(0);
    }

    /** A metrics file read back: its columns and its rows as the text of each field. */
    public record Table(List<String> columns, List<Map<String, String>> rows) {}

    /**
     * Reads a file written by {@link #save} (unquoted fields only, as numeric metrics are); a
     * row with another number of fields than the header is an error naming its line. A last line
     * without its line end (a write cut short) is dropped.
     */
    public static Table read(Path file) throws IOException {
        String text = java.nio.file.Files.readString(file, java.nio.charset.StandardCharsets.UTF_8);
        String[] lines = text.split("\n", -1);
        if (lines.length < 2 || lines[0].isEmpty()) {
            throw new IOException(file + " has no header line");
        }
        List<String> columns = List.of(lines[0].split(",", -1));
        List<Map<String, String>> rows = new ArrayList<>();
        for (int i = 1; i < lines.length - 1; i++) { // the last element follows the final line end
            String[] fields = lines[i].split(",", -1);
            if (fields.length != columns.size()) {
                throw new IOException(file + ", line " + (i + 1) + ": " + fields.length + " fields, the header has "
                        + columns.size());
            }
            LinkedHashMap<String, String> row = new LinkedHashMap<>();
            for (int c = 0; c < fields.length; c++) {
                row.put(columns.get(c), fields[c]);
            }
            rows.add(Collections.unmodifiableMap(row));
        }
        return new Table(columns, Collections.unmodifiableList(rows));
    }

    /**
     * The value of a field as {@link #format} wrote it: null for an empty field, a Double for a
     * number ({@code nan}, {@code inf}, {@code -inf} included), so that formatting it again gives
     * the same text.
     *
     * @throws IOException for text that is not a number
     */
    public static Double parseValue(String field) throws IOException {
        switch (field) {
            case "":
                return null;
            case "nan":
                return Double.NaN;
            case "inf":
                return Double.POSITIVE_INFINITY;
            case "-inf":
                return Double.NEGATIVE_INFINITY;
            default:
                try {
                    return Double.parseDouble(field);
                } catch (NumberFormatException e) {
                    throw new IOException("'" + field + "' is not a number");
                }
        }
    }

    /** Formats one value the way {@link #save} writes it (before CSV quoting). */
    public static String format(Object value) {
        if (value == null) {
            return "";
        }
        if (value instanceof Double d) {
            return formatDouble(d);
        }
        if (value instanceof Float f) {
            return f.isNaN() || f.isInfinite() ? formatDouble(f.doubleValue()) : String.valueOf(f.floatValue());
        }
        if (value instanceof Long || value instanceof Integer || value instanceof Short || value instanceof Byte
                || value instanceof BigInteger) {
            return value.toString();
        }
        if (value instanceof BigDecimal b) {
            return b.toPlainString();
        }
        return value.toString();
    }

    private static String formatDouble(double d) {
        if (Double.isNaN(d)) return "nan";
        if (d == Double.POSITIVE_INFINITY) return "inf";
        if (d == Double.NEGATIVE_INFINITY) return "-inf";
        return String.valueOf(d);
    }

    private static void appendLine(StringBuilder sb, List<String> fields) {
        for (int i = 0; i < fields.size(); i++) {
            if (i > 0) sb.append(',');
            sb.append(quote(fields.get(i)));
        }
        sb.append('\n');
    }

    private static String quote(String field) {
        if (field.indexOf(',') < 0 && field.indexOf('"') < 0 && field.indexOf('\n') < 0 && field.indexOf('\r') < 0) {
            return field;
        }
        return '"' + field.replace("\"", "\"\"") + '"';
    }
}
