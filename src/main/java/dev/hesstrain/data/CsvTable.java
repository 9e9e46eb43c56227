package dev.hesstrain.data;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
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
 * reader behind datasets and inspection points, on Jackson's CSV parser, so that quoted names and
 * fields (RFC 4180: {@code "x, scaled"}, {@code ""} for a quote) work. Blank lines are ignored,
 * unquoted fields are trimmed, a leading byte-order mark is dropped, and every problem names the
 * file, line and column (the field's number in its row).
 *
 * @param columns the header's column names, unique and non-empty
 * @param rows the data rows, each with one value per column
 */
public record CsvTable(List<String> columns, List<double[]> rows) {
    /** A plain decimal number; rejects NaN, Infinity, hex and Java's 'd'/'f' suffixes. */
    private static final Pattern NUMBER = Pattern.compile("[+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?");

    private static final CsvMapper CSV = CsvMapper.builder()
            .enable(CsvParser.Feature.WRAP_AS_ARRAY)
            .enable(CsvParser.Feature.TRIM_SPACES)
            .build();

    /** A malformed or unreadable file; the message names it (and the line and column where known). */
    public static final class Problem extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Problem(String message) {
            super(message);
        }
    }

    /** Reads {@code path}; a header with no data rows, or no header at all, is a problem. */
    public static CsvTable read(Path path) {
        return read(path, false);
    }

    /**
     * As {@link #read(Path)}, but when {@code headerOptional} a first row whose fields are all
     * numbers is data, not a header, and the columns are named x1, x2, ... (points given to a
     * model without a header line).
     */
    public static CsvTable read(Path path, boolean headerOptional) {
        String text;
        try {
            text = Files.readString(path, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            throw new Problem("cannot read " + path + ": it is not UTF-8 text");
        } catch (IOException e) {
            throw new Problem("cannot read " + path + ": " + e.getMessage());
        }
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1);
        }
        List<String> columns = null;
        List<double[]> rows = new ArrayList<>();
        List<String> fields = new ArrayList<>();
        int lineNo = 0;
        try (CsvParser p = (CsvParser) CSV.getFactory().createParser(text)) {
            p.setSchema(CsvSchema.emptySchema());
            int depth = 0; // 1 inside the array of rows, 2 inside a row
            JsonToken t;
            while ((t = p.nextToken()) != null) {
                if (t == JsonToken.START_ARRAY) {
                    depth++;
                    fields.clear();
                } else if (t == JsonToken.VALUE_STRING) {
                    if (fields.isEmpty()) {
                        lineNo = p.currentTokenLocation().getLineNr();
                    }
                    fields.add(p.getText());
                } else if (t == JsonToken.END_ARRAY && depth-- == 2) {
                    if (fields.isEmpty() || fields.size() == 1 && fields.get(0).isBlank()) {
                        continue; // a blank line
                    }
                    if (columns == null) {
                        if (!headerOptional || !fields.stream().allMatch(f -> NUMBER.matcher(f.trim()).matches())) {
                            columns = header(path, lineNo, fields);
                            continue;
                        }
                        columns = new ArrayList<>();
                        for (int c = 1; c <= fields.size(); c++) {
                            columns.add("x" + c);
                        }
                    }
                    if (fields.size() != columns.size()) {
                        throw new Problem(path + ":" + lineNo + ": expected " + columns.size()
                                + " comma-separated fields as in the header, found " + fields.size());
                    }
                    double[] row = new double[fields.size()];
                    for (int c = 0; c < row.length; c++) {
                        row[c] = number(path, lineNo, c, fields.get(c));
                    }
                    rows.add(row);
                }
            }
        } catch (JsonProcessingException e) {
            // in a row: its line and the number of the field being read, as for the other problems
            JsonLocation at = e.getLocation();
            String where = !fields.isEmpty() ? ":" + lineNo + ":" + (fields.size() + 1)
                    : at == null || at.getLineNr() < 1 ? "" : ":" + at.getLineNr() + ":" + at.getColumnNr();
            throw new Problem(path + where + ": malformed CSV: " + e.getOriginalMessage());
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

    private static List<String> header(Path path, int lineNo, List<String> fields) {
        List<String> columns = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        for (int c = 0; c < fields.size(); c++) {
            String name = fields.get(c).trim();
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
