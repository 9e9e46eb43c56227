package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * Which products of first derivatives a Taylor pass carries: pair p multiplies direction a[p] by
 * direction b[p]. Three layouts, each computing the products with the fewest ops:
 * <ul>
 *   <li>{@link #full}: every (j, k) of K directions in row-major order, by one broadcast product;
 *   <li>{@link #zip}: (i, k + i) for i < k, directions u_1..u_k then v_1..v_k, by two slices;
 *   <li>{@link #diagonal}: (i, i) for i < K, by one square (the curvatures u_iᵀHu_i);
 *   <li>{@link #upperTriangle}: j ≤ k in row-major order, by two gathers (for large K, where the
 *       full layout would do twice the work).
 * </ul>
 */
public final class Pairs implements AutoCloseable {
    private enum Layout { FULL, ZIP, DIAGONAL, INDEXED }

    private final Layout layout;
    private final int[] a;
    private final int[] b;
    private final int directions;
    private final NDArray indexA;
    private final NDArray indexB;

    private Pairs(Layout layout, int directions, int[] a, int[] b, NDManager manager) {
        this.layout = layout;
        this.directions = directions;
        this.a = a;
        this.b = b;
        if (layout == Layout.INDEXED) {
            this.indexA = manager.create(a).toType(DataType.INT64, false);
            this.indexB = manager.create(b).toType(DataType.INT64, false);
        } else {
            this.indexA = null;
            this.indexB = null;
        }
    }

    /** All K² ordered pairs (j, k), row-major: the products form the full K×K matrix. */
    public static Pairs full(int k) {
        int[] a = new int[k * k];
        int[] b = new int[k * k];
        for (int j = 0; j < k; j++) {
            for (int l = 0; l < k; l++) {
                a[j * k + l] = j;
                b[j * k + l] = l;
            }
        }
        return new Pairs(Layout.FULL, k, a, b, null);
    }

    /** Pairs (i, k + i) of 2k directions: u_i with v_i. */
    public static Pairs zip(int k) {
        int[] a = new int[k];
        int[] b = new int[k];
        for (int i = 0; i < k; i++) {
            a[i] = i;
            b[i] = k + i;
        }
        return new Pairs(Layout.ZIP, 2 * k, a, b, null);
    }

    /** Pairs (i, i) of K directions: each direction with itself. */
    public static Pairs diagonal(int k) {
        int[] a = new int[k];
        for (int i = 0; i < k; i++) {
            a[i] = i;
        }
        return new Pairs(Layout.DIAGONAL, k, a, a.clone(), null);
    }

    /** Pairs j ≤ k of K directions, row-major over the upper triangle. */
    public static Pairs upperTriangle(NDManager manager, int k) {
        int p = k * (k + 1) / 2;
        int[] a = new int[p];
        int[] b = new int[p];
        int i = 0;
        for (int j = 0; j < k; j++) {
            for (int l = j; l < k; l++) {
                a[i] = j;
                b[i] = l;
                i++;
            }
        }
        return new Pairs(Layout.INDEXED, k, a, b, manager);
    }

    /** The exact Hessian layout for d inputs: full for small d, the upper triangle beyond. */
    public static Pairs forHessian(NDManager manager, int d) {
        return d <= 16 ? full(d) : upperTriangle(manager, d);
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
     * How many entries of the symmetric K×K matrix pair p stands for: 1 in the full layout and on
     * the diagonal, 2 for an off-diagonal pair of the upper triangle.
     */
    public int multiplicity(int p) {
        return layout == Layout.INDEXED && a[p] != b[p] ? 2 : 1;
    }

    /** The products jac[a_p] * jac[b_p] for every pair: [P, N or 1, ...] from [K, N or 1, ...]. */
    public NDArray outer(NDArray jac) {
        return outer(jac, 0);
    }

    /** {@link #outer(NDArray)} with the directions on {@code axis} instead of the first. */
    public NDArray outer(NDArray jac, int axis) {
        return layout == Layout.DIAGONAL ? Ops.square(jac) : outer(jac, jac, axis);
    }

    /**
     * The products left[a_p] * right[b_p] for every pair, directions on {@code axis}: {@link
     * #outer(NDArray, int)} of two arrays of the same shape (broadcasting), for a pass that scales
     * one side first (σ''·jac ⊗ jac costs one product of the directions' size fewer than σ''·(jac ⊗ jac)).
     */
    public NDArray outer(NDArray left, NDArray right, int axis) {
        String lead = ":, ".repeat(axis);
        return switch (layout) {
            case FULL -> {
                NDArray prod = left.expandDims(axis + 1).mul(right.expandDims(axis));
                long[] out = prod.getShape().getShape();
                long[] merged = new long[out.length - 1];
                for (int i = 0, j = 0; i < out.length; i++) {
                    if (i == axis + 1) {
                        merged[axis] *= out[i];
                    } else {
                        merged[j++] = out[i];
                    }
                }
                yield prod.reshape(new Shape(merged));
            }
            case ZIP -> {
                int k = a.length;
                yield left.get(lead + ":" + k).mul(right.get(lead + k + ":"));
            }
            case DIAGONAL -> left.mul(right);
            case INDEXED -> axis == 0 ? left.get(indexA).mul(right.get(indexB))
                    : left.get(new NDIndex(lead + "{}", indexA)).mul(right.get(new NDIndex(lead + "{}", indexB)));
        };
    }

    /** Temporarily attaches the persistent index arrays to {@code step}. */
    public void attach(NDManager step) {
        Scopes.tempAttach(step, indexA, indexB);
    }

    @Override
    public void close() {
        if (indexA != null) {
            indexA.close();
            indexB.close();
        }
    }
}
