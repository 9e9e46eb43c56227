package dev.hesstrain.runs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsCsvTest {

    private static MetricsCsv twoRows() {
        MetricsCsv csv = new MetricsCsv("epoch", "loss", "penalty", "accuracy", "note");
        LinkedHashMap<String, Object> r1 = new LinkedHashMap<>();
        r1.put("epoch", 1);
        r1.put("loss", 0.1);
        r1.put("penalty", Double.NaN);
        r1.put("accuracy", 0.5f);
        r1.put("note", "warm, up");
        csv.add(r1);
        // keys in a different order, some missing
        LinkedHashMap<String, Object> r2 = new LinkedHashMap<>();
        r2.put("penalty", Double.NEGATIVE_INFINITY);
        r2.put("loss", 1.0E-5);
        r2.put("epoch", 20000000000L);
        csv.add(r2);
        return csv;
    }

    private static String saved(MetricsCsv csv, Path dir) throws IOException {
        Path f = dir.resolve("metrics.csv");
        csv.save(f);
        return Files.readString(f);
    }

    @Test
    void rendersGolden(@TempDir Path dir) throws IOException {
        String expected = "epoch,loss,penalty,accuracy,note\n"
                + "1,0.1,nan,0.5,\"warm, up\"\n"
                + "20000000000,1.0E-5,-inf,,\n";
        assertEquals(expected, saved(twoRows(), dir));
    }

    @Test
    void formatsSpecialValues() {
        assertEquals("inf", MetricsCsv.format(Double.POSITIVE_INFINITY));
        assertEquals("-inf", MetricsCsv.format(Float.NEGATIVE_INFINITY));
        assertEquals("nan", MetricsCsv.format(Float.NaN));
        assertEquals("3.0", MetricsCsv.format(3.0));
        assertEquals("3", MetricsCsv.format(3));
        assertEquals("0.1", MetricsCsv.format(0.1f));
        assertEquals("", MetricsCsv.format(null));
    }

    @Test
    void aRowIsFormattedWhenAddedAndNotKept(@TempDir Path dir) throws IOException {
        MetricsCsv csv = new MetricsCsv("epoch", "loss");
        LinkedHashMap<String, Object> row = new LinkedHashMap<>();
        row.put("loss", 0.25);
        row.put("epoch", 1);
        csv.add(row);
        row.put("loss", 99.0); // the caller reuses its map: the row added before stays as it was
        csv.add(row);
        assertEquals("epoch,loss\n1,0.25\n1,99.0\n", saved(csv, dir));
    }

    @Test
    void rejectsUnknownColumns() {
        MetricsCsv csv = new MetricsCsv("a");
        assertThrows(IllegalArgumentException.class, () -> csv.add(Map.of("b", 1)));
        assertThrows(IllegalArgumentException.class, () -> new MetricsCsv("a", "a"));
    }

    @Test
    void laterSavesAppendTheNewRowsAndReadBack(@TempDir Path dir) throws IOException {
        MetricsCsv csv = new MetricsCsv("epoch", "loss");
        Path f = dir.resolve("metrics.csv");
        csv.add(Map.of("epoch", 1, "loss", 0.5));
        csv.save(f);
        csv.save(f); // nothing new: the file stays as it is
        csv.add(Map.of("epoch", 2, "loss", 0.25));
        csv.add(Map.of("epoch", 3, "loss", Double.NaN));
        csv.save(f);
        assertEquals("epoch,loss\n1,0.5\n2,0.25\n3,nan\n", Files.readString(f));
        MetricsCsv.Table t = MetricsCsv.read(f);
        assertEquals(java.util.List.of("epoch", "loss"), t.columns());
        assertEquals(java.util.List.of("1", "2", "3"), t.rows().stream().map(r -> r.get("epoch")).toList());
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file is left behind");
        }
        assertThrows(IllegalStateException.class, () -> csv.save(dir.resolve("other.csv")));
    }
}
