package dev.hesstrain.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.hesstrain.spec.LayerSpec;
import dev.hesstrain.spec.LayerType;
import dev.hesstrain.spec.ModelSpec;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Weights files: a round trip, and the damaged files that must be refused with a message (exit 2), not a crash. */
class WeightsTest {
    @TempDir
    Path dir;

    private static final ModelSpec MODEL = new ModelSpec(null, List.of(
            new LayerSpec(LayerType.LINEAR, 3, null, null, null, null, null),
            new LayerSpec(LayerType.TANH, null, null, null, null, null, null),
            new LayerSpec(LayerType.LINEAR, 1, null, null, null, null, null)));

    private Path save(Network net, String name) throws IOException {
        Path p = dir.resolve(name);
        try (OutputStream os = Files.newOutputStream(p)) {
            Weights.write(net, os);
        }
        return p;
    }

    @Test
    void weightsRoundTripIntoAnotherNetwork() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Network a = Network.build(MODEL, 2, DataType.FLOAT64, m, 1);
            Network b = Network.build(MODEL, 2, DataType.FLOAT64, m, 2);
            Path p = save(a, "a.safetensors");
            Weights.load(b, p);
            for (int i = 0; i < a.parameters().size(); i++) {
                assertArrayEquals(a.parameters().get(i).array().toDoubleArray(), b.parameters().get(i).array().toDoubleArray());
            }
        }
    }

    @Test
    void anAbsurdHeaderLengthIsRefused() throws IOException {
        Path p = dir.resolve("huge.safetensors");
        ByteBuffer b = ByteBuffer.allocate(8 + 2).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(1_000_000_000_000_000L).put("{}".getBytes(StandardCharsets.US_ASCII));
        Files.write(p, b.array());
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = Network.build(MODEL, 2, DataType.FLOAT64, m, 1);
            IOException e = assertThrows(IOException.class, () -> Weights.load(net, p));
            assertTrue(e.getMessage().contains("is not a safetensors file"), e.getMessage());
            assertTrue(e.getMessage().contains("1000000000000000 bytes"), e.getMessage());
            Files.write(p, new byte[] {1, 2, 3});
            IOException tiny = assertThrows(IOException.class, () -> Weights.load(net, p));
            assertTrue(tiny.getMessage().contains("is not a safetensors file"), tiny.getMessage());
        }
    }

    @Test
    void nonFiniteWeightsAreRefusedNamingTheTensor() throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Network a = Network.build(MODEL, 2, DataType.FLOAT64, m, 1);
            a.parameters().get(2).array().set(new NDIndex("0, 1"), Double.NaN); // 2.weight [1, 3]
            Path nan = save(a, "nan.safetensors");
            Network b = Network.build(MODEL, 2, DataType.FLOAT64, m, 2);
            double[] before = b.parameters().get(2).array().toDoubleArray();
            IOException e = assertThrows(IOException.class, () -> Weights.load(b, nan));
            assertTrue(e.getMessage().contains("2.weight holds NaN"), e.getMessage());
            assertArrayEquals(before, b.parameters().get(2).array().toDoubleArray(), "nothing is loaded");
            a.parameters().get(2).array().set(new NDIndex("0, 1"), 0.5);
            a.parameters().get(1).array().set(new NDIndex("2"), Double.NEGATIVE_INFINITY); // 0.bias [3]
            IOException inf = assertThrows(IOException.class, () -> Weights.load(b, save(a, "inf.safetensors")));
            assertTrue(inf.getMessage().contains("0.bias holds -Infinity"), inf.getMessage());
        }
    }
}
