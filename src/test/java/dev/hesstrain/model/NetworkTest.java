package dev.hesstrain.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.spec.LayerSpec;
import dev.hesstrain.spec.LayerType;
import dev.hesstrain.spec.ModelSpec;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NetworkTest {
    private static final int D = 3;
    private static final int N = 4;

    private static LayerSpec layer(String type, Integer units) {
        return new LayerSpec(LayerType.parse(type), units, null, null, null, null, null);
    }

    /** 3 → 5 tanh → 4 softplus → 2, float64. */
    private static Network net(NDManager m) {
        List<LayerSpec> layers = List.of(layer("linear", 5), layer("tanh", null), layer("linear", 4),
                layer("softplus", null), layer("linear", 2));
        return Network.build(new ModelSpec(null, layers), D, DataType.FLOAT64, m, 11);
    }

    private static NDArray random(NDManager m, SplittableRandom rng, Shape shape) {
        double[] v = new double[Math.toIntExact(shape.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextDouble() * 2 - 1;
        }
        return m.create(v, shape);
    }

    /**
     * The Taylor pass runs dense layers and activations feature-major ({@link Columns}); the same
     * layers run one by one in the row-major layout give the same numbers, for every pair layout
     * and for directions shared by all samples or given per sample.
     */
    @ParameterizedTest
    @ValueSource(strings = {"full", "zip", "diagonal", "upperTriangle", "full-shared"})
    void theFeatureMajorPassEqualsTheRowMajorOne(String layout) {
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = net(m);
            SplittableRandom rng = new SplittableRandom(5);
            NDArray x = random(m, rng, new Shape(N, D));
            int k = layout.equals("zip") ? 4 : 3;
            NDArray directions = random(m, rng, new Shape(k, layout.equals("full-shared") ? 1 : N, D));
            try (Pairs pairs = switch (layout) {
                case "zip" -> Pairs.zip(2);
                case "diagonal" -> Pairs.diagonal(k);
                case "upperTriangle" -> Pairs.upperTriangle(m, k);
                default -> Pairs.full(k);
            }) {
                Taylor columns = net.taylor(x, directions, pairs);
                Taylor rows = new Taylor(x, directions, null);
                for (Layer l : net.layers()) {
                    rows = l.forward(rows, pairs);
                }
                assertEquals(new Shape(pairs.size(), N, 2), columns.hess().getShape());
                assertArrayEquals(rows.value().toDoubleArray(), columns.value().toDoubleArray(), 1e-14);
                assertArrayEquals(rows.jac().toDoubleArray(), columns.jac().toDoubleArray(), 1e-14);
                double[] h = columns.hess().toDoubleArray();
                assertArrayEquals(rows.hess().toDoubleArray(), h, 1e-14);
                assertTrue(Arrays.stream(h).map(Math::abs).max().orElse(0) > 1e-3, "second derivatives vanish");
            }
        }
    }

    @Test
    void parametersAreViewsOfOneFlatArrayInNamedOrder() {
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = net(m);
            NDArray flat = net.flatParameters();
            assertEquals(net.parameterCount(), flat.size());
            assertEquals(List.of("0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"),
                    net.parameters().stream().map(Parameter::name).toList());
            double[] all = flat.toDoubleArray();
            double[][] before = new double[net.parameters().size()][];
            int offset = 0;
            for (int i = 0; i < before.length; i++) {
                before[i] = net.parameters().get(i).array().toDoubleArray();
                assertArrayEquals(Arrays.copyOfRange(all, offset, offset + before[i].length), before[i]);
                offset += before[i].length;
            }
            flat.muli(2); // one write to the flat array changes every parameter
            for (int i = 0; i < before.length; i++) {
                double[] after = net.parameters().get(i).array().toDoubleArray();
                for (int j = 0; j < after.length; j++) {
                    assertEquals(2 * before[i][j], after[j], 0);
                }
            }
        }
    }
}
