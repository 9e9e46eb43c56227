package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Which products of first derivatives a Taylor pass needs: pair p multiplies direction a[p] by
 * direction b[p]. Selection matrices turn [.., K, M] first derivatives into [.., P, M] factors.
 */
public final class Pairs implements AutoCloseable {
    private final int[] a;
    private final int[] b;
    private final int directions;
    private final NDArray selectA;
    private final NDArray selectB;

    public Pairs(NDManager manager, DataType dtype, int directions, int[] a, int[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("pair index arrays differ in length");
        }
        this.a = a.clone();
        this.b = b.clone();
        this.directions = directions;
        this.selectA = manager.create(selection(a, directions), new Shape(a.length, directions)).toType(dtype, false);
        this.selectB = manager.create(selection(b, directions), new Shape(b.length, directions)).toType(dtype, false);
    }

    /** All pairs j ≤ k of the unit directions in row-major order of the upper triangle. */
    public static Pairs upperTriangle(NDManager manager, DataType dtype, int d) {
        int p = d * (d + 1) / 2;
        int[] a = new int[p];
        int[] b = new int[p];
        int i = 0;
        for (int j = 0; j < d; j++) {
            for (int k = j; k < d; k++) {
                a[i] = j;
                b[i] = k;
                i++;
            }
        }
        return new Pairs(manager, dtype, d, a, b);
    }

    private static float[] selection(int[] idx, int directions) {
        float[] m = new float[idx.length * directions];
        for (int p = 0; p < idx.length; p++) {
            m[p * directions + idx[p]] = 1f;
        }
        return m;
    }

    public int size() {
        return a.length;
    }

    public int directions() {
        return directions;
    }

    public int a(int p) {
        return a[p];
    }

    public int b(int p) {
        return b[p];
    }

    /**
     * The products jac[a_p] * jac[b_p] for every pair: [N or 1, P, ...] from [N or 1, K, ...].
     */
    public NDArray outer(NDArray jac) {
        Shape s = jac.getShape();
        long n = s.get(0);
        long k = s.get(1);
        long m = s.size() / (n * k);
        NDArray flat = jac.reshape(n, k, m);
        NDArray left = selectA.matMul(flat);
        NDArray right = selectB.matMul(flat);
        NDArray prod = left.mul(right);
        long[] out = s.getShape().clone();
        out[1] = a.length;
        return prod.reshape(new Shape(out));
    }

    /** Temporarily attaches the persistent selection matrices to {@code step}. */
    public void attach(ai.djl.ndarray.NDManager step) {
        Scopes.tempAttach(step, selectA, selectB);
    }

    @Override
    public void close() {
        selectA.close();
        selectB.close();
    }
}
