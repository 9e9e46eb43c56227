package dev.hesstrain.runs;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The project's shared Jackson mapper and atomic JSON file helpers.
 *
 * <p>Output is indented and always valid JSON: non-finite doubles and floats (NaN, ±Infinity), whether
 * boxed, primitive bean properties or elements of {@code double[]} / {@code float[]}, are written as
 * {@code null}. As a last resort (e.g. a {@code DoubleNode} inside a hand-built tree, which bypasses
 * serializers) Jackson's default {@code WRITE_NAN_AS_STRINGS} stays on, giving {@code "NaN"} strings
 * rather than invalid bare {@code NaN} tokens.
 */
public final class Json {

    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .addModule(new SimpleModule("hesstrain-finite-numbers")
                    .addSerializer(Double.class, new FiniteDouble<>(Double.class))
                    .addSerializer(Double.TYPE, new FiniteDouble<>(Double.TYPE))
                    .addSerializer(Float.class, new FiniteDouble<>(Float.class))
                    .addSerializer(Float.TYPE, new FiniteDouble<>(Float.TYPE))
                    .addSerializer(double[].class, new DoubleArray())
                    .addSerializer(float[].class, new FloatArray()))
            .build();

    private Json() {}

    /** The shared mapper (thread-safe; do not reconfigure it). */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    /** Serialises {@code value} as indented JSON (no trailing newline). */
    public static String toString(Object value) throws IOException {
        return MAPPER.writeValueAsString(value);
    }

    /** Writes {@code value} as indented JSON, followed by a newline, to {@code file} atomically. */
    public static void write(Path file, Object value) throws IOException {
        byte[] json = MAPPER.writeValueAsBytes(value);
        AtomicFiles.write(file, out -> {
            out.write(json);
            out.write('\n');
        });
    }

    /** Reads {@code file} into an instance of {@code type}. */
    public static <T> T read(Path file, Class<T> type) throws IOException {
        try (var in = Files.newInputStream(file)) {
            return MAPPER.readValue(in, type);
        }
    }

    /** Reads {@code file} as a tree. */
    public static JsonNode readTree(Path file) throws IOException {
        try (var in = Files.newInputStream(file)) {
            return MAPPER.readTree(in);
        }
    }

    /** Writes a double or float, or {@code null} when it is not finite. */
    private static final class FiniteDouble<T extends Number> extends StdSerializer<T> {
        FiniteDouble(Class<T> type) {
            super(type);
        }

        @Override
        public void serialize(T value, JsonGenerator gen, SerializerProvider provider) throws IOException {
            writeNumber(gen, value.doubleValue(), value instanceof Float);
        }
    }

    private static final class DoubleArray extends StdSerializer<double[]> {
        DoubleArray() {
            super(double[].class);
        }

        @Override
        public void serialize(double[] value, JsonGenerator gen, SerializerProvider provider) throws IOException {
            gen.writeStartArray(value, value.length);
            for (double v : value) {
                writeNumber(gen, v, false);
            }
            gen.writeEndArray();
        }
    }

    private static final class FloatArray extends StdSerializer<float[]> {
        FloatArray() {
            super(float[].class);
        }

        @Override
        public void serialize(float[] value, JsonGenerator gen, SerializerProvider provider) throws IOException {
            gen.writeStartArray(value, value.length);
            for (float v : value) {
                writeNumber(gen, v, true);
            }
            gen.writeEndArray();
        }
    }

    private static void writeNumber(JsonGenerator gen, double v, boolean isFloat) throws IOException {
        if (!Double.isFinite(v)) {
            gen.writeNull();
        } else if (isFloat) {
            gen.writeNumber((float) v);
        } else {
            gen.writeNumber(v);
        }
    }
}
