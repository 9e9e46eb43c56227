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

    @Test
    void rendersGolden() {
        String expected = "epoch,loss,penalty,accuracy,note\n"
                + "1,0.1,nan,0.5,\"warm, up\"\n"
                + "20000000000,1.0E-5,-inf,,\n";
        assertEquals(expected, twoRows().render());
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
    void rowsAreOrderedByColumns() {
        MetricsCsv csv = twoRows();
        assertEquals(2, csv.rows().size());
        assertEquals(java.util.List.of("epoch", "loss", "penalty"), java.util.List.copyOf(csv.rows().get(1).keySet()));
        assertThrows(UnsupportedOperationException.class, () -> csv.rows().get(0).put("loss", 2.0));
    }

    @Test
    void rejectsUnknownColumns() {
        MetricsCsv csv = new MetricsCsv("a");
        assertThrows(IllegalArgumentException.class, () -> csv.add(Map.of("b", 1)));
        assertThrows(IllegalArgumentException.class, () -> new MetricsCsv("a", "a"));
    }

    @Test
    void savesAtomically(@TempDir Path dir) throws IOException {
        MetricsCsv csv = twoRows();
        Path f = dir.resolve("metrics.csv");
        csv.save(f);
        assertEquals(csv.render(), Files.readString(f));
    }
}
