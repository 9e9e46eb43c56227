package dev.hesstrain.model;

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
import dev.hesstrain.hessian.ClosedForm;
import dev.hesstrain.spec.LayerSpec;
import dev.hesstrain.spec.LayerType;
import dev.hesstrain.spec.LossKind;
import dev.hesstrain.spec.ModelSpec;
import dev.hesstrain.spec.Norm;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The replica axis: R replicas of a network on a leading axis of parameters and inputs give, slice
 * by slice, exactly what R separate networks with those parameters give, for the value pass of
 * every layer type (dense, conv2d with stride and padding, activations, flatten, log_softmax),
 * with inputs of their own or shared, and for the Taylor pass of dense networks; and the closed
 * form on the replica axis, row-major and feature-major, against each replica's own pass.
 */
class ReplicaAxisTest {
    private static final int R = 3;
    private static final int N = 4;
    /** Inputs of the feature-major checks. */
    private static final int D = 3;

    private static LayerSpec layer(String type, Integer units) {
        return new LayerSpec(LayerType.parse(type), units, null, null, null, null, null);
    }

    private static NDArray random(NDManager m, SplittableRandom rng, Shape shape) {
        double[] v = new double[Math.toIntExact(shape.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextDouble() * 2 - 1;
        }
        return m.create(v, shape);
    }

    /** R networks of the same spec from different seeds. */
    private static List<Network> replicas(ModelSpec spec, int inputs, NDManager m) {
        List<Network> nets = new ArrayList<>();
        for (int r = 0; r < R; r++) {
            nets.add(Network.build(spec, inputs, DataType.FLOAT64, m, 20 + r));
        }
        return nets;
    }

    /** Their parameters stacked on a leading axis, one array per parameter. */
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

    private static ModelSpec spec(String kind) {
        return switch (kind) {
            case "dense" -> new ModelSpec(null, List.of(layer("linear", 5), layer("tanh", null), layer("linear", 4),
                    layer("gelu", null), layer("linear", 2)));
            case "conv" -> new ModelSpec(List.of(2, 5, 5), List.of(
                    new LayerSpec(LayerType.CONV2D, null, null, 3, 3, 1, 1), layer("softplus", null),
                    new LayerSpec(LayerType.CONV2D, null, null, 2, 2, 2, 0), layer("flatten", null),
                    layer("linear", 3), layer("log_softmax", null)));
            default -> throw new IllegalArgumentException(kind);
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"dense", "dense-shared", "conv", "conv-shared"})
    void theReplicatedValuePassEqualsSeparateNetworks(String kind) {
        boolean shared = kind.endsWith("-shared");
        ModelSpec spec = spec(kind.replace("-shared", ""));
        int d = spec.inputShape() == null ? 3 : 50;
        try (NDManager m = NDManager.newBaseManager()) {
            List<Network> nets = replicas(spec, d, m);
            assertTrue(nets.get(0).replicable());
            SplittableRandom rng = new SplittableRandom(7);
            NDArray x = random(m, rng, new Shape(shared ? 1 : R, N, d));
            NDArray out = nets.get(0).forward(x, stacked(nets));
            assertEquals(new Shape(R, N, nets.get(0).outputs()), out.getShape());
            for (int r = 0; r < R; r++) {
                double[] own = nets.get(r).forward(x.get(shared ? 0 : r)).toDoubleArray();
                assertArrayEquals(own, out.get(r).toDoubleArray(), 1e-13, "replica " + r);
            }
            // the replicas differ, so the check above cannot pass by accident
            assertFalse(Arrays.equals(out.get(0).toDoubleArray(), out.get(1).toDoubleArray()));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"shared-full", "own-full", "own-zip", "own-upperTriangle"})
    void theReplicatedTaylorPassEqualsSeparateNetworks(String kind) {
        ModelSpec spec = spec("dense");
        int d = 3;
        try (NDManager m = NDManager.newBaseManager()) {
            List<Network> nets = replicas(spec, d, m);
            assertTrue(nets.get(0).replicatedTaylor());
            SplittableRandom rng = new SplittableRandom(8);
            NDArray x = random(m, rng, new Shape(R, N, d));
            boolean own = kind.startsWith("own");
            int k = kind.endsWith("zip") ? 4 : 3;
            NDArray dirs = own ? random(m, rng, new Shape(R, k, N, d)) : m.eye(d).toType(DataType.FLOAT64, false).expandDims(1);
            try (Pairs pairs = switch (kind.substring(kind.indexOf('-') + 1)) {
                case "zip" -> Pairs.zip(2);
                case "upperTriangle" -> Pairs.upperTriangle(m, k);
                default -> Pairs.full(k);
            }) {
                Taylor t = nets.get(0).taylor(x, dirs, pairs, stacked(nets));
                assertEquals(new Shape(R, pairs.size(), N, 2), t.hess().getShape());
                for (int r = 0; r < R; r++) {
                    Taylor one = nets.get(r).taylor(x.get(r), own ? dirs.get(r) : dirs, pairs);
                    assertArrayEquals(one.value().toDoubleArray(), t.value().get(r).toDoubleArray(), 1e-13);
                    assertArrayEquals(one.jac().broadcast(t.jac().get(r).getShape()).toDoubleArray(),
                            t.jac().get(r).toDoubleArray(), 1e-13);
                    assertArrayEquals(one.hess().toDoubleArray(), t.hess().get(r).toDoubleArray(), 1e-13);
                }
                assertFalse(Arrays.equals(t.hess().get(0).toDoubleArray(), t.hess().get(1).toDoubleArray()));
            }
        }
    }

    /**
     * The closed-form curvature pass on the replica axis: its R·N samples' Hessians (formed from the
     * terms), values and traces equal those of each replica's own pass, for dense networks with two
     * curved activations, conv2d with padding and with stride 2 (the transposed convolution per
     * replica), flatten and log_softmax, with inputs of their own or shared; and the Hessians are
     * those of float64 central differences of each replica's own outputs.
     */
    @ParameterizedTest
    @ValueSource(strings = {"dense", "dense-shared", "conv", "conv-shared"})
    void theReplicatedClosedFormEqualsSeparateNetworks(String kind) {
        boolean shared = kind.endsWith("-shared");
        ModelSpec spec = spec(kind.replace("-shared", ""));
        int d = spec.inputShape() == null ? 3 : 50;
        try (NDManager m = NDManager.newBaseManager()) {
            List<Network> nets = replicas(spec, d, m);
            int o = nets.get(0).outputs();
            SplittableRandom rng = new SplittableRandom(10);
            NDArray x = random(m, rng, new Shape(shared ? 1 : R, N, d));
            NDArray eye = m.eye(d).toType(DataType.FLOAT64, false).expandDims(1);
            NDArray seed = m.eye(o).toType(DataType.FLOAT64, false).expandDims(1);
            NDArray xs = shared ? x.broadcast(new Shape(R, N, d)) : x;
            Sandwich all = nets.get(0).curvature(x, eye, seed, stacked(nets)); // a shared x [1, N, d] broadcasts
            dev.hesstrain.hessian.ClosedForm.Norms norms = new dev.hesstrain.hessian.ClosedForm.Norms(all,
                    dev.hesstrain.hessian.ClosedForm.Frobenius.FORMED);
            assertEquals(new Shape(R * N, o), all.value().getShape());
            NDArray full = norms.full(); // [R·N, O, d, d]
            for (int r = 0; r < R; r++) {
                NDArray xr = xs.get(r);
                Sandwich one = nets.get(r).curvature(xr, eye, seed);
                dev.hesstrain.hessian.ClosedForm.Norms own = new dev.hesstrain.hessian.ClosedForm.Norms(one,
                        dev.hesstrain.hessian.ClosedForm.Frobenius.FORMED);
                NDArray mine = full.get(r * N + ":" + (r + 1) * N);
                assertArrayEquals(one.value().toDoubleArray(), all.value().get(r * N + ":" + (r + 1) * N).toDoubleArray(), 1e-13);
                assertArrayEquals(own.full().toDoubleArray(), mine.toDoubleArray(), 1e-12, "replica " + r);
                assertArrayEquals(own.traces().toDoubleArray(),
                        norms.traces().get(":, " + r * N + ":" + (r + 1) * N).toDoubleArray(), 1e-12);
                // and both are the Hessians of replica r's outputs, by central differences
                double[] h = mine.toDoubleArray();
                double[] x0 = xr.get(0).toDoubleArray();
                double eps = 1e-4;
                for (int j = 0; j < d; j += d > 5 ? 7 : 1) {
                    for (int k = 0; k < d; k += d > 5 ? 11 : 1) {
                        double[] f = new double[o];
                        for (int sj = -1; sj <= 1; sj += 2) {
                            for (int sk = -1; sk <= 1; sk += 2) {
                                double[] p = x0.clone();
                                p[j] += sj * eps;
                                p[k] += sk * eps;
                                double[] y = nets.get(r).forward(m.create(p, new Shape(1, d))).toDoubleArray();
                                for (int q = 0; q < o; q++) {
                                    f[q] += sj * sk * y[q] / (4 * eps * eps);
                                }
                            }
                        }
                        for (int q = 0; q < o; q++) {
                            assertEquals(f[q], h[(q * d + j) * d + k], 1e-6, "replica " + r + " output " + q + " (" + j + ", " + k + ")");
                        }
                    }
                }
            }
            assertFalse(Arrays.equals(full.get(0).toDoubleArray(), full.get(N).toDoubleArray()));
        }
    }

    @Test
    void theLossOfEachReplicaIsTheLossOfItsOutputs() {
        try (NDManager m = NDManager.newBaseManager()) {
            SplittableRandom rng = new SplittableRandom(9);
            NDArray out = random(m, rng, new Shape(R, N, 3));
            NDArray values = random(m, rng, new Shape(N, 3));
            NDArray labels = m.create(new long[] {0, 2, 1, 2});
            for (LossKind loss : LossKind.values()) {
                NDArray y = loss == LossKind.MSE ? values : labels;
                double[] per = Loss.perReplica(loss, out, y).toDoubleArray();
                assertEquals(R, per.length);
                for (int r = 0; r < R; r++) {
                    assertEquals(Loss.of(loss, out.get(r), y).getDouble(), per[r], 1e-14, loss + " replica " + r);
                }
            }
        }
    }

    private static LayerSpec linear(int units, boolean bias) {
        return new LayerSpec(LayerType.LINEAR, units, bias, null, null, null, null);
    }

    private static LayerSpec layer(String type) {
        return layer(type, null);
    }

    private static ModelSpec flatSpec(String kind) {
        return new ModelSpec(null, switch (kind) {
            case "bias" -> List.of(linear(5, true), layer("tanh"), linear(4, true), layer("gelu"), linear(2, true));
            case "nobias" -> List.of(linear(5, false), layer("tanh"), linear(4, false), layer("softplus"), linear(1, false));
            case "below-top" -> List.of(linear(5, true), layer("tanh"), linear(4, true), layer("relu"), linear(3, true),
                    layer("identity"), linear(2, true));
            case "activation-first" -> List.of(layer("sin"), linear(4, true), layer("tanh"), linear(1, true));
            default -> throw new IllegalArgumentException(kind);
        });
    }

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
    @ParameterizedTest
    @CsvSource({"bias,1,shared", "bias,3,shared", "bias,3,own", "bias,1,own", "nobias,3,shared", "nobias,3,own",
            "below-top,3,shared", "below-top,3,own", "activation-first,3,shared", "activation-first,1,own"})
    void eachReplicaIsThePlainFeatureMajorPassOfItsNetwork(String kind, int r, String directions) {
        boolean own = directions.equals("own");
        try (NDManager m = NDManager.newBaseManager()) {
            List<Network> nets = new ArrayList<>();
            for (int i = 0; i < r; i++) {
                nets.add(Network.build(flatSpec(kind), D, DataType.FLOAT64, m, 40 + i));
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
                NDArray fro = new ClosedForm.Norms(all, ClosedForm.Frobenius.FORMED).get(Norm.FROBENIUS);
                assertFalse(Arrays.equals(fro.get("0:" + N).toDoubleArray(), fro.get(N + ":" + 2 * N).toDoubleArray()));
            }
        }
    }
}
