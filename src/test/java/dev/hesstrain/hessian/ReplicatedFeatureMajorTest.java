package dev.hesstrain.hessian;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Sandwich;
import dev.hesstrain.spec.LayerSpec;
import dev.hesstrain.spec.LayerType;
import dev.hesstrain.spec.ModelSpec;
import dev.hesstrain.spec.Norm;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The feature-major closed form on the replica axis ({@link Network#curvature(NDArray, NDArray,
 * NDArray, List, boolean)}, the exact pass of a stack of members at small d): the outputs and the
 * four norms (by both Frobenius ways) of its R·N samples equal, replica by replica, those of the
 * plain feature-major pass ({@link Network#curvature(NDArray, NDArray, NDArray, boolean)}) of a
 * network holding that replica's parameters, in float64 to 1e-12, along the unit directions shared
 * by every sample and along directions of each replica and sample, for R = 1 and 3: a network with
 * biases and two outputs, one without biases and one output, one whose highest curvature term is
 * below the top (relu and linear layers above it), and one that starts with an activation (its
 * first Jacobian shared by all replicas).
 */
class ReplicatedFeatureMajorTest {
    private static final int N = 4;
    private static final int D = 3;

    private static LayerSpec linear(int units, boolean bias) {
        return new LayerSpec(LayerType.LINEAR, units, bias, null, null, null, null);
    }

    private static LayerSpec layer(String type) {
        return new LayerSpec(LayerType.parse(type), null, null, null, null, null, null);
    }

    private static ModelSpec spec(String kind) {
        return new ModelSpec(null, switch (kind) {
            case "bias" -> List.of(linear(5, true), layer("tanh"), linear(4, true), layer("gelu"), linear(2, true));
            case "nobias" -> List.of(linear(5, false), layer("tanh"), linear(4, false), layer("softplus"), linear(1, false));
            case "below-top" -> List.of(linear(5, true), layer("tanh"), linear(4, true), layer("relu"), linear(3, true),
                    layer("identity"), linear(2, true));
            case "activation-first" -> List.of(layer("sin"), linear(4, true), layer("tanh"), linear(1, true));
            default -> throw new IllegalArgumentException(kind);
        });
    }

    private static NDArray random(NDManager m, SplittableRandom rng, Shape shape) {
        double[] v = new double[Math.toIntExact(shape.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextDouble() * 2 - 1;
        }
        return m.create(v, shape);
    }

    /** Every parameter of {@code nets} stacked on a leading replica axis. */
    private static List<NDArray> stacked(List<Network> nets) {
        List<NDArray> params = new ArrayList<>();
        for (int p = 0; p < nets.get(0).parameters().size(); p++) {
            NDList parts = new NDList();
            for (Network n : nets) {
                parts.add(n.parameters().get(p).array());
            }
            params.add(NDArrays.stack(parts));
        }
        return params;
    }

    @ParameterizedTest
    @CsvSource({"bias,1,shared", "bias,3,shared", "bias,3,own", "bias,1,own", "nobias,3,shared", "nobias,3,own",
            "below-top,3,shared", "below-top,3,own", "activation-first,3,shared", "activation-first,1,own"})
    void eachReplicaIsThePlainFeatureMajorPassOfItsNetwork(String kind, int r, String directions) {
        boolean own = directions.equals("own");
        try (NDManager m = NDManager.newBaseManager()) {
            List<Network> nets = new ArrayList<>();
            for (int i = 0; i < r; i++) {
                nets.add(Network.build(spec(kind), D, DataType.FLOAT64, m, 40 + i));
            }
            Network template = nets.get(0);
            assertTrue(template.featureMajor());
            int o = template.outputs();
            SplittableRandom rng = new SplittableRandom(11);
            NDArray x = random(m, rng, new Shape(r, N, D));
            int k = own ? 4 : D;
            NDArray dirs = own ? random(m, rng, new Shape(r, k, N, D)) : m.eye(D).toType(DataType.FLOAT64, false).expandDims(1);
            NDArray seed = m.eye(o).toType(DataType.FLOAT64, false).expandDims(1);
            Sandwich all = template.curvature(x, dirs, seed, stacked(nets), true);
            assertEquals(new Shape(r * N, o), all.value().getShape());
            assertTrue(all.terms().stream().allMatch(Sandwich.Term::featureMajor));
            for (ClosedForm.Frobenius way : ClosedForm.Frobenius.values()) {
                ClosedForm.Norms norms = new ClosedForm.Norms(all, way);
                for (int i = 0; i < r; i++) {
                    Sandwich one = nets.get(i).curvature(x.get(i), own ? dirs.get(i) : dirs, seed, true);
                    ClosedForm.Norms plain = new ClosedForm.Norms(one, way);
                    String mine = i * N + ":" + (i + 1) * N;
                    assertArrayEquals(one.value().toDoubleArray(), all.value().get(mine).toDoubleArray(), 1e-12,
                            kind + " output, replica " + i);
                    for (Norm norm : Norm.values()) {
                        double[] want = plain.get(norm).toDoubleArray();
                        assertTrue(Arrays.stream(want).anyMatch(v -> v != 0), norm + " is not zero");
                        assertArrayEquals(want, norms.get(norm).get(mine).toDoubleArray(), 1e-12,
                                kind + " " + norm + " (" + way + "), replica " + i);
                    }
                    assertArrayEquals(plain.traces().toDoubleArray(), norms.traces().get(":, " + mine).toDoubleArray(), 1e-12);
                    assertArrayEquals(plain.full().toDoubleArray(), norms.full().get(mine).toDoubleArray(), 1e-12);
                }
            }
            if (r > 1) { // the replicas differ, so the checks above cannot pass by accident
                ClosedForm.Norms norms = new ClosedForm.Norms(all, ClosedForm.Frobenius.FORMED);
                NDArray fro = norms.get(Norm.FROBENIUS);
                assertFalse(Arrays.equals(fro.get("0:" + N).toDoubleArray(), fro.get(N + ":" + 2 * N).toDoubleArray()));
            }
        }
    }
}
