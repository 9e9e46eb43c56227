package dev.hesstrain.runs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonTest {

    @TempDir
    Path dir;

    /** A bean with primitive non-finite fields. */
    public static final class Stats {
        public double mean = Double.NaN;
        public float max = Float.POSITIVE_INFINITY;
        public double[] values = {1.5, Double.NEGATIVE_INFINITY};
        public float[] floats = {Float.NaN, 2f};
        public int count = 3;
    }

    @Test
    void roundTripsNestedMap() throws IOException {
        LinkedHashMap<String, Object> m = new LinkedHashMap<>();
        m.put("name", "run-1");
        m.put("seed", 42);
        m.put("lr", 0.001);
        m.put("layers", List.of(784, 128, 10));
        m.put("nested", new LinkedHashMap<>(Map.of("penalty", 1e-3)));
        m.put("flag", true);
        m.put("none", null);
        Path f = dir.resolve("config.json");
        Json.write(f, m);

        @SuppressWarnings("unchecked")
        Map<String, Object> back = Json.read(f, LinkedHashMap.class);
        assertEquals(m, back);
        assertEquals(List.copyOf(m.keySet()), List.copyOf(back.keySet()));
        String text = Files.readString(f);
        assertTrue(text.contains("\n  \"name\""), "indented: " + text);
        assertTrue(text.endsWith("}\n"));
    }

    @Test
    void nonFiniteNumbersBecomeNull() throws IOException {
        LinkedHashMap<String, Object> m = new LinkedHashMap<>();
        m.put("nan", Double.NaN);
        m.put("inf", Double.POSITIVE_INFINITY);
        m.put("fnan", Float.NaN);
        m.put("ok", 2.5);
        m.put("list", List.of(1.0, Double.NaN));
        m.put("stats", new Stats());
        Path f = dir.resolve("m.json");
        Json.write(f, m);

        String text = Files.readString(f);
        assertTrue(!text.contains("NaN") && !text.contains("Infinity"), text);
        // strict parse (the mapper does not allow non-numeric numbers)
        JsonNode tree = Json.readTree(f);
        assertTrue(tree.get("nan").isNull());
        assertTrue(tree.get("inf").isNull());
        assertTrue(tree.get("fnan").isNull());
        assertEquals(2.5, tree.get("ok").asDouble());
        assertTrue(tree.get("list").get(1).isNull());
        JsonNode stats = tree.get("stats");
        assertTrue(stats.get("mean").isNull());
        assertTrue(stats.get("max").isNull());
        assertEquals(1.5, stats.get("values").get(0).asDouble());
        assertTrue(stats.get("values").get(1).isNull());
        assertTrue(stats.get("floats").get(0).isNull());
        assertEquals(2.0, stats.get("floats").get(1).asDouble());
        assertEquals(3, stats.get("count").asInt());
    }

    @Test
    void emptyBeansAreAllowed() throws IOException {
        assertEquals("{ }", Json.toString(new Object()));
    }
}
