package dev.hesstrain.hessian;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.model.Loss;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Weights;
import dev.hesstrain.spec.LayerSpec;
import dev.hesstrain.spec.LayerType;
import dev.hesstrain.spec.LossKind;
import dev.hesstrain.spec.ModelSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ParamHessianTest {

    static LayerSpec linear(int units) {
        return new LayerSpec(LayerType.LINEAR, units, null, null, null, null, null);
    }

    static LayerSpec layer(String type) {
        return new LayerSpec(LayerType.parse(type), null, null, null, null, null, null);
    }

    static double[] uniform(long seed, int count) {
        SplittableRandom rng = new SplittableRandom(seed);
        double[] v = new double[count];
        for (int i = 0; i < count; i++) {
            v[i] = rng.nextDouble() * 2 - 1;
        }
        return v;
    }

    /** Rows start.. of H, row-major float64 into {@code out}, through the engine method. */
    static void rowsInto(ParamHessian h, int start, int count, double[] out) {
        try (NDManager m = NDManager.newBaseManager()) {
            double[] v = h.rows(start, count, m).toType(DataType.FLOAT64, false).toDoubleArray();
            System.arraycopy(v, 0, out, 0, v.length);
        }
    }

    /** As {@link #rowsInto(ParamHessian, int, int, double[])}, in float32. */
    static void rowsInto(ParamHessian h, int start, int count, float[] out) {
        try (NDManager m = NDManager.newBaseManager()) {
            float[] v = h.rows(start, count, m).toType(DataType.FLOAT32, false).toFloatArray();
            System.arraycopy(v, 0, out, 0, v.length);
        }
    }

    /** H v for each of {@code vs} (at most the replicas), one backward pass, through the engine method. */
    static double[][] hvp(ParamHessian h, double[][] vs) {
        int p = vs[0].length;
        double[] block = new double[p * vs.length];
        for (int c = 0; c < vs.length; c++) {
            for (int i = 0; i < p; i++) {
                block[i * vs.length + c] = vs[c][i];
            }
        }
        try (NDManager m = NDManager.newBaseManager()) {
            double[] hv = h.multiply(m.create(block, new Shape(p, vs.length))).toDoubleArray();
            double[][] out = new double[vs.length][p];
            for (int c = 0; c < vs.length; c++) {
                for (int i = 0; i < p; i++) {
                    out[c][i] = hv[i * vs.length + c];
                }
            }
            return out;
        }
    }

    static double[] hvp(ParamHessian h, double[] v) {
        return hvp(h, new double[][] {v})[0];
    }

    /** The full Hessian, row by row, in float64. */
    static double[][] full(ParamHessian h) {
        int p = h.dim();
        double[][] rows = new double[p][];
        double[] buf = new double[h.replicas() * p];
        for (int start = 0; start < p; start += h.replicas()) {
            int count = Math.min(h.replicas(), p - start);
            rowsInto(h, start, count, buf);
            for (int c = 0; c < count; c++) {
                rows[start + c] = java.util.Arrays.copyOfRange(buf, c * p, (c + 1) * p);
            }
        }
        return rows;
    }

    /** The scalar at flat parameters theta, in float64. */
    static double scalar(Network net, double[] theta, double[] x, int n, double[] y, LossKind loss) {
        Map<String, double[]> values = new LinkedHashMap<>();
        int at = 0;
        for (ParamHessian.Block b : ParamHessian.layout(net)) {
            values.put(b.name(), java.util.Arrays.copyOfRange(theta, at, at + (int) b.size()));
            at += (int) b.size();
        }
        Weights.restore(net, values);
        try (NDManager step = net.manager().newSubManager()) {
            net.attach(step);
            NDArray xs = step.create(x, new Shape(n, net.inputs()));
            NDArray out = net.forward(xs);
            if (loss == null) {
                return out.mean().getDouble();
            }
            NDArray ys = loss == LossKind.MSE ? step.create(y, new Shape(n, net.outputs())) : step.create(y, new Shape(n));
            return Loss.of(loss, out, ys).getDouble();
        }
    }

    /** Second differences of the scalar in float64, Richardson-extrapolated. */
    static double[][] finiteDifferences(Network net, double[] x, int n, double[] y, LossKind loss) {
        double[] theta0 = flat(net);
        int p = theta0.length;
        double[][] res = new double[p][p];
        for (int i = 0; i < p; i++) {
            for (int j = i; j < p; j++) {
                double coarse = second(net, theta0, i, j, 2e-3, x, n, y, loss);
                double fine = second(net, theta0, i, j, 1e-3, x, n, y, loss);
                res[i][j] = (4 * fine - coarse) / 3;
                res[j][i] = res[i][j];
            }
        }
        scalar(net, theta0, x, n, y, loss);
        return res;
    }

    private static double second(Network net, double[] t0, int i, int j, double h, double[] x, int n, double[] y,
            LossKind loss) {
        double[] f = new double[4];
        int[][] signs = {{1, 1}, {1, -1}, {-1, 1}, {-1, -1}};
        for (int c = 0; c < 4; c++) {
            double[] t = t0.clone();
            t[i] += signs[c][0] * h;
            t[j] += signs[c][1] * h;
            f[c] = scalar(net, t, x, n, y, loss);
        }
        return (f[0] - f[1] - f[2] + f[3]) / (4 * h * h);
    }

    static double[] flat(Network net) {
        List<Double> all = new ArrayList<>();
        for (double[] v : Weights.snapshot(net).values()) {
            for (double d : v) {
                all.add(d);
            }
        }
        return all.stream().mapToDouble(Double::doubleValue).toArray();
    }

    static Network mlp(NDManager m, String last, int outputs) {
        List<LayerSpec> layers = new ArrayList<>(List.of(linear(3), layer("tanh"), linear(outputs)));
        if (last != null) {
            layers.add(layer(last));
        }
        return Network.build(new ModelSpec(null, layers), 2, DataType.FLOAT64, m, 11);
    }

    @ParameterizedTest
    @ValueSource(strings = {"mse", "cross_entropy", "nll", "output"})
    void replicasAgreeWithTheNetworkItselfAndWithFiniteDifferences(String which) {
        LossKind loss = which.equals("output") ? null : LossKind.parse(which);
        int n = 5;
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = mlp(m, which.equals("nll") ? "log_softmax" : null, which.equals("output") ? 1 : 3);
            double[] x = uniform(1, n * 2);
            double[] y = which.equals("mse") ? uniform(2, n * 3) : new double[] {0, 2, 1, 1, 0};
            double[][] replicated;
            double[][] direct;
            try (ParamHessian h = new ParamHessian(net, x, n, y, loss, 4)) {
                assertTrue(h.replicated());
                replicated = full(h);
                assertEquals(net.parameterCount(), h.dim());
                assertEquals(scalar(net, flat(net), x, n, y, loss), h.value(), 1e-12);
            }
            try (ParamHessian h = new ParamHessian(net, x, n, y, loss, 0)) {
                assertFalse(h.replicated());
                direct = full(h);
            }
            double[][] fd = finiteDifferences(net, x, n, y, loss);
            double scale = 0;
            for (double[] row : fd) {
                for (double v : row) {
                    scale = Math.max(scale, Math.abs(v));
                }
            }
            assertTrue(scale > 1e-2, "the Hessian should not vanish: " + scale);
            for (int i = 0; i < fd.length; i++) {
                assertArrayEquals(direct[i], replicated[i], 1e-12 * scale, "row " + i);
                assertArrayEquals(fd[i], replicated[i], 1e-6 * scale, "finite differences, row " + i);
                for (int j = 0; j < fd.length; j++) {
                    assertEquals(replicated[i][j], replicated[j][i], 1e-12 * scale, "symmetry " + i + "," + j);
                }
            }
        }
    }

    @Test
    void productsAgreeWithRows() {
        int n = 4;
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = mlp(m, null, 2);
            double[] x = uniform(3, n * 2);
            double[] y = uniform(4, n * 2);
            try (ParamHessian h = new ParamHessian(net, x, n, y, LossKind.MSE, 3)) {
                double[][] rows = full(h);
                int p = h.dim();
                double[] ones = new double[p];
                java.util.Arrays.fill(ones, 1);
                double[] v = uniform(5, p);
                double[][] hv = hvp(h, new double[][] {ones, v});
                for (int i = 0; i < p; i++) {
                    double rowSum = 0;
                    double rowV = 0;
                    for (int j = 0; j < p; j++) {
                        rowSum += rows[i][j];
                        rowV += rows[i][j] * v[j];
                    }
                    assertEquals(rowSum, hv[0][i], 1e-12);
                    assertEquals(rowV, hv[1][i], 1e-12);
                }
                assertEquals(p + 2, h.products());
                assertThrows(IllegalArgumentException.class, () -> hvp(h, new double[] {1, 2}));
            }
        }
    }

    @Test
    void linearModelWithMseHasTheKnownQuadraticHessian() {
        // L(w, b) = mean_n (w·x_n + b − y_n)²: H = (2/N) Σ_n x̃_n x̃_nᵀ with x̃ = (x, 1)
        int n = 6;
        int d = 3;
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = Network.build(new ModelSpec(null, List.of(linear(1))), d, DataType.FLOAT64, m, 3);
            double[] x = uniform(7, n * d);
            double[] y = uniform(8, n);
            try (ParamHessian h = new ParamHessian(net, x, n, y, LossKind.MSE, 2)) {
                double[][] rows = full(h);
                for (int i = 0; i <= d; i++) {
                    for (int j = 0; j <= d; j++) {
                        double expected = 0;
                        for (int s = 0; s < n; s++) {
                            double xi = i < d ? x[s * d + i] : 1;
                            double xj = j < d ? x[s * d + j] : 1;
                            expected += 2.0 / n * xi * xj;
                        }
                        assertEquals(expected, rows[i][j], 1e-12, "entry " + i + "," + j);
                    }
                }
            }
        }
    }

    @Test
    void convolutionReplicasAgreeWithTheNetworkItself() {
        int n = 3;
        List<LayerSpec> layers = List.of(
                new LayerSpec(LayerType.CONV2D, null, null, 2, 3, 1, 1),
                layer("tanh"),
                new LayerSpec(LayerType.CONV2D, null, null, 2, 2, 2, 0),
                layer("flatten"),
                linear(3));
        ModelSpec spec = new ModelSpec(List.of(1, 4, 4), layers);
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = Network.build(spec, 16, DataType.FLOAT64, m, 5);
            double[] x = uniform(9, n * 16);
            double[] y = {2, 0, 1};
            double[][] replicated;
            try (ParamHessian h = new ParamHessian(net, x, n, y, LossKind.CROSS_ENTROPY, 8)) {
                assertTrue(h.replicated());
                replicated = full(h);
            }
            try (ParamHessian h = new ParamHessian(net, x, n, y, LossKind.CROSS_ENTROPY, 0)) {
                double[][] direct = full(h);
                for (int i = 0; i < direct.length; i++) {
                    assertArrayEquals(direct[i], replicated[i], 1e-12, "row " + i);
                }
            }
        }
    }

    /** A layer with parameters and no replicated pass: the network's own parameters are the leaves. */
    @Test
    void aLayerWithoutAReplicatedPassFallsBackToOneProductPerPass() {
        int n = 3;
        try (NDManager m = NDManager.newBaseManager()) {
            ModelSpec spec = new ModelSpec(null, List.of(linear(3), layer("tanh"), linear(1)));
            Network built = Network.build(spec, 2, DataType.FLOAT64, m, 5);
            List<dev.hesstrain.model.Layer> wrapped = new ArrayList<>();
            for (dev.hesstrain.model.Layer l : built.layers()) {
                wrapped.add(l.parameters().isEmpty() ? l : new Opaque(l));
            }
            Network opaque = Network.of(m.newSubManager(), wrapped, new Shape(2), 1, DataType.FLOAT64);
            assertFalse(opaque.replicable());
            double[] x = uniform(9, n * 2);
            double[] y = uniform(10, n);
            try (ParamHessian a = new ParamHessian(opaque, x, n, y, LossKind.MSE, 8);
                    ParamHessian b = new ParamHessian(built, x, n, y, LossKind.MSE, 8)) {
                assertFalse(a.replicated());
                assertEquals(1, a.replicas());
                assertTrue(b.replicated());
                double[][] ra = full(a);
                double[][] rb = full(b);
                for (int i = 0; i < ra.length; i++) {
                    assertArrayEquals(rb[i], ra[i], 1e-12, "row " + i);
                }
            }
        }
    }

    /** Delegates the value and Taylor passes, and hides the replicated one. */
    private record Opaque(dev.hesstrain.model.Layer inner) implements dev.hesstrain.model.Layer {
        @Override
        public NDArray forward(NDArray x) {
            return inner.forward(x);
        }

        @Override
        public dev.hesstrain.model.Taylor forward(dev.hesstrain.model.Taylor t, dev.hesstrain.model.Pairs pairs) {
            return inner.forward(t, pairs);
        }

        @Override
        public Shape outputShape(Shape in) {
            return inner.outputShape(in);
        }

        @Override
        public List<dev.hesstrain.model.Parameter> parameters() {
            return inner.parameters();
        }
    }

    @Test
    void theGradientGraphSurvivesGarbageCollection() throws InterruptedException {
        // a graph that saved a temporary scalar (as g.mul(1) does) read freed memory after a GC
        int n = 4;
        try (NDManager m = NDManager.newBaseManager()) {
            ModelSpec spec = new ModelSpec(null, List.of(linear(3), layer("gelu"), linear(2)));
            Network net = Network.build(spec, 2, DataType.FLOAT32, m, 4);
            double[] x = uniform(5, n * 2);
            double[] y = uniform(6, n * 2);
            for (int replicas : new int[] {3, 0}) {
                try (ParamHessian h = new ParamHessian(net, x, n, y, LossKind.MSE, replicas)) {
                    double[] before = hvp(h, uniform(7, h.dim()));
                    for (int i = 0; i < 200; i++) {
                        java.nio.ByteBuffer.allocateDirect(1 << 20);
                        m.create(new float[1 << 16]).close();
                    }
                    System.gc();
                    Thread.sleep(100);
                    System.gc();
                    assertArrayEquals(before, hvp(h, uniform(7, h.dim())), 1e-6, "replicas " + replicas);
                }
            }
        }
    }

    @Test
    void float32RowsMatchFloat64() {
        int n = 4;
        try (NDManager m = NDManager.newBaseManager()) {
            ModelSpec spec = new ModelSpec(null, List.of(linear(3), layer("softplus"), linear(2)));
            Network n64 = Network.build(spec, 2, DataType.FLOAT64, m, 4);
            Network n32 = Network.build(spec, 2, DataType.FLOAT32, m, 4);
            double[] x = uniform(5, n * 2);
            double[] y = {0, 1, 1, 0};
            try (ParamHessian a = new ParamHessian(n64, x, n, y, LossKind.CROSS_ENTROPY, 4);
                    ParamHessian b = new ParamHessian(n32, x, n, y, LossKind.CROSS_ENTROPY, 4)) {
                int p = a.dim();
                double[] ra = new double[4 * p];
                float[] rb = new float[4 * p];
                rowsInto(a, 4, 4, ra);
                rowsInto(b, 4, 4, rb);
                for (int i = 0; i < ra.length; i++) {
                    assertEquals(ra[i], rb[i], 1e-5, "entry " + i);
                }
            }
        }
    }

    @Test
    void anOperatorOfTwoLanesGivesWhatOneGraphGives() throws Exception {
        int n = 5;
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = mlp(m, null, 3);
            double[] x = uniform(1, n * 2);
            double[] y = uniform(2, n * 3);
            try (ParamHessian a = new ParamHessian(net, x, n, y, LossKind.MSE, 3);
                    ParamHessian b = new ParamHessian(net, x, n, y, LossKind.MSE, 3)) {
                double[][] h = full(a);
                int p = a.dim();
                ParamHessianOperator op = new ParamHessianOperator(List.of(a, b), m);
                assertEquals(2, op.lanes());
                assertEquals(3, op.blockSize(), "products: one pass of the replicas at a time");
                // the dense matrix and its diagonal, from row blocks spread over both lanes
                double[] dense = Curvature.full(op);
                Curvature.Diagonal dn = Curvature.diagonalAndNorm(op);
                double squares = 0;
                for (int i = 0; i < p; i++) {
                    for (int j = 0; j < p; j++) {
                        assertEquals(h[i][j], dense[i * p + j], 1e-12, "entry " + i + ", " + j);
                        squares += h[i][j] * h[i][j];
                    }
                    assertEquals(h[i][i], dn.values()[i], 1e-12);
                }
                assertEquals(Math.sqrt(squares), dn.frobenius()[0], 1e-10);
                // a block of 11 vectors: passes of 3, H·V column by column
                int k = 11;
                double[] v = uniform(9, p * k);
                double[] hv = Curvature.times(op, v, k);
                for (int i = 0; i < p; i++) {
                    for (int c = 0; c < k; c++) {
                        double e = 0;
                        for (int j = 0; j < p; j++) {
                            e += h[i][j] * v[j * k + c];
                        }
                        assertEquals(e, hv[i * k + c], 1e-12);
                    }
                }
                // Hutchinson's probes do not depend on the lanes
                double[] two = Hutchinson.samples(op, 20, new SplittableRandom(4));
                double[] one = Hutchinson.samples(new ParamHessianOperator(a, m), 20, new SplittableRandom(4));
                assertArrayEquals(one, two, 1e-12);
            }
        }
    }
}
