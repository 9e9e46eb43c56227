package dev.hesstrain.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.spec.ActivationKind;
import dev.hesstrain.spec.LossKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Each activation's σ' and σ'' against float64 central differences of its own σ, and each loss's
 * output gradient and Hessian against central differences of its own value.
 */
class ElementwiseTest {
    private static final double[] Z = {-2.3, -1.1, -0.4, 0.3, 0.9, 1.7, 2.6};
    private static final double H = 1e-4;

    private static double[] apply(Elementwise f, Constants c, NDManager m, double[] z, int which) {
        NDArray[] out = f.apply(m.create(z), c, which > 0);
        return out[which] == null ? null : out[which].toDoubleArray();
    }

    @ParameterizedTest
    @EnumSource(Elementwise.class)
    void derivativesAreThoseOfTheFunction(Elementwise f) {
        try (NDManager m = NDManager.newBaseManager()) {
            Constants c = new Constants(m, DataType.FLOAT64);
            for (double v : Elementwise.CONSTANTS) {
                c.of(v);
            }
            double[] zp = new double[Z.length];
            double[] zm = new double[Z.length];
            for (int i = 0; i < Z.length; i++) {
                zp[i] = Z[i] + H;
                zm[i] = Z[i] - H;
            }
            double[] y = apply(f, c, m, Z, 0);
            double[] yp = apply(f, c, m, zp, 0);
            double[] ym = apply(f, c, m, zm, 0);
            double[] d1 = apply(f, c, m, Z, 1);
            double[] d2 = apply(f, c, m, Z, 2);
            for (int i = 0; i < Z.length; i++) {
                assertEquals((yp[i] - ym[i]) / (2 * H), d1[i], 1e-7, f + "' at " + Z[i]);
                double fd2 = (yp[i] - 2 * y[i] + ym[i]) / (H * H);
                assertEquals(fd2, d2 == null ? 0 : d2[i], 1e-5, f + "'' at " + Z[i]);
            }
            assertEquals(d2 != null, f.curved(), f + ": curved iff σ'' is not identically zero");
        }
    }

    @Test
    void everyActivationOfTheSpecHasItsFunction() {
        for (ActivationKind kind : ActivationKind.values()) {
            assertEquals(kind.name(), Elementwise.of(kind).name());
            assertEquals(kind.piecewiseLinear(), !Elementwise.of(kind).curved(), kind + ": curved iff not piecewise linear");
        }
        assertEquals(ActivationKind.values().length, Elementwise.values().length);
    }

    @ParameterizedTest
    @EnumSource(Loss.class)
    void lossDerivativesAreThoseOfItsValue(Loss loss) {
        int o = 3;
        double[] f = {0.4, -1.2, 0.7};
        double[] y = loss == Loss.MSE ? new double[] {0.1, 0.5, -0.3} : new double[] {2};
        if (loss == Loss.NLL) {
            f = new double[] {-1.5, -0.7, -1.2};
        }
        double[] g = new double[o];
        double[] a = new double[o * o];
        loss.outputDerivatives(f, 0, o, y, 0, g, a);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray target = loss == Loss.MSE ? m.create(y, new Shape(1, o)) : m.create(new long[] {(long) y[0]});
            for (int q = 0; q < o; q++) {
                double[] p = f.clone();
                double[] n = f.clone();
                p[q] += H;
                n[q] -= H;
                double lp = loss.value(m.create(p, new Shape(1, o)), target).getDouble();
                double ln = loss.value(m.create(n, new Shape(1, o)), target).getDouble();
                assertEquals((lp - ln) / (2 * H), g[q], 1e-7, loss + " gradient " + q);
                for (int r = 0; r < o; r++) {
                    double[][] pts = new double[4][];
                    int[][] signs = {{1, 1}, {1, -1}, {-1, 1}, {-1, -1}};
                    double sum = 0;
                    for (int k = 0; k < 4; k++) {
                        pts[k] = f.clone();
                        pts[k][q] += signs[k][0] * H;
                        pts[k][r] += signs[k][1] * H;
                        double v = loss.value(m.create(pts[k], new Shape(1, o)), target).getDouble();
                        sum += signs[k][0] * signs[k][1] * v;
                    }
                    assertEquals(sum / (4 * H * H), a[q * o + r], 1e-5, loss + " hessian " + q + "," + r);
                }
            }
        }
    }

    @Test
    void lossesAreNamedAsInTheSpec() {
        for (LossKind kind : LossKind.values()) {
            assertEquals(kind.name(), Loss.of(kind).name());
        }
        assertEquals(LossKind.values().length, Loss.values().length);
    }
}
