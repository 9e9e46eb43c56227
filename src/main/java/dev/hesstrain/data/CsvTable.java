package dev.hesstrain.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A comma-separated file of numbers whose first non-blank line names the columns: the one CSV
 * reader behind datasets and inspection points. Blank lines are ignored, fields are trimmed, a
 * leading byte-order mark is dropped, and every problem names the file, line and column.
 *
 * @param columns the header's column names, unique and non-empty
 * @param rows the data rows, each with one value per column
 */
public record CsvTable(List<String> columns, List<double[]> rows) {
    /** A plain decimal number; rejects NaN, Infinity, hex and Java's 'd'/'f' suffixes. */
    private static final Pattern NUMBER = Pattern.compile("[+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?");

    /** A malformed or unreadable file; the message names it (and the line and column where known). */
    public static final class Problem extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Problem(String message) {
            super(message);
        }
    }

    /** Reads {@code path}; a header with no data rows, or no header at all, is a problem. */
    public static CsvTable read(Path path) {
        List<String> columns = null;
        List<double[]> rows = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
            String line;
            int lineNo = 0;
            while ((line = in.readLine()) != null) {
                lineNo++;
                if (lineNo == 1 && line.startsWith("\uFEFF")) {
                    line = line.substring(1);
                }
                if (line.isBlank()) {
                    continue;
                }
                String[] fields = line.split(",", -1);
                if (columns == null) {
                    columns = header(path, lineNo, fields);
                    continue;
                }
                if (fields.length != columns.size()) {
                    throw new Problem(path + ":" + lineNo + ": expected " + columns.size()
                            + " comma-separated fields as in the header, found " + fields.length);
                }
                double[] row = new double[fields.length];
                for (int c = 0; c < fields.length; c++) {
                    row[c] = number(path, lineNo, c, fields[c]);
                }
                rows.add(row);
            }
        } catch (IOException e) {
            throw new Problem("cannot read " + path + ": " + e.getMessage());
        }
        if (columns == null) {
            throw new Problem(path + " is empty; expected a header row of column names");
        }
        if (rows.isEmpty()) {
            throw new Problem(path + " has a header but no data rows");
        }
        return new CsvTable(List.copyOf(columns), rows);
    }

    private static List<String> header(Path path, int lineNo, String[] fields) {
        List<String> columns = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        for (int c = 0; c < fields.length; c++) {
            String name = fields[c].trim();
            if (name.isEmpty()) {
                throw new Problem(path + ":" + lineNo + ":" + (c + 1) + ": empty column name in the header");
            }
            Integer before = seen.put(name, c);
            if (before != null) {
                throw new Problem(path + ":" + lineNo + ":" + (c + 1)
                        + ": column '" + name + "' appears twice in the header (also column " + (before + 1) + ")");
            }
            columns.add(name);
        }
        return columns;
    }

    private static double number(Path path, int lineNo, int col, String field) {
        String s = field.trim();
        if (!NUMBER.matcher(s).matches()) {
            throw new Problem(path + ":" + lineNo + ":" + (col + 1) + ": not a number: '" + s + "'");
        }
        double v = Double.parseDouble(s);
        if (!Double.isFinite(v)) {
            throw new Problem(path + ":" + lineNo + ":" + (col + 1) + ": number out of range: '" + s + "'");
        }
        return v;
    }
}
