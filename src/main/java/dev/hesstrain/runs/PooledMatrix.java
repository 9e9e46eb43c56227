package dev.hesstrain.runs;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * A large matrix seen row by row, kept only as its max-|value| pooling into blocks of
 * {@code pool × pool} entries, small enough for a heatmap (at most {@code limit} cells a side): the
 * one pooling of every heatmap. A NaN entry wins its block, so that it shows.
 */
public final class PooledMatrix {
    private final int pool;
    private final double[][] cells;
    /** A direct buffer's row, copied (see {@link #add(int, FloatBuffer, int, int)}). */
    private float[] floats;
    private double[] doubles;

    public PooledMatrix(int rows, int cols, int limit) {
        int longest = Math.max(rows, cols);
        this.pool = Math.max(1, (longest + limit - 1) / limit);
        this.cells = new double[(rows + pool - 1) / pool][(cols + pool - 1) / pool];
        for (double[] r : cells) {
            Arrays.fill(r, Double.NaN);
        }
    }

    public int pool() {
        return pool;
    }

    /**
     * Adds row {@code r}, {@code cols} values from {@code values.get(off)}, and returns the sum of
     * their squares (one pass over the row serves both). Not for several threads at once (each
     * lane of a parameter Hessian keeps its own pooling and merges it at the end).
     *
     * <p>The row is read from a Java array (a direct buffer's row is copied into one first, a
     * memcpy) and each block's extremes are found by plain comparisons: C1, the launcher's only
     * compiler, inlines neither {@code FloatBuffer.get} nor {@code Math.max}/{@code min}, and the
     * calls cost about 17 ns an entry, a third of a conv12 row block's time. Plain comparisons
     * differ from {@code Math.max}/{@code min} only on NaN and on the sign of a zero, so a block
     * that holds either (all of its entries ±0, or a NaN so far in the row) is pooled again
     * exactly as {@code Math.max}/{@code min} pool it.
     */
    public double add(int r, FloatBuffer values, int off, int cols) {
        float[] row;
        int at;
        if (values.hasArray()) {
            row = values.array();
            at = values.arrayOffset() + off;
        } else {
            if (floats == null || floats.length < cols) {
                floats = new float[cols];
            }
            values.get(off, floats, 0, cols);
            row = floats;
            at = 0;
        }
        double[] dst = cells[r / pool];
        double s0 = 0;
        double s1 = 0;
        for (int c0 = 0, cell = 0; c0 < cols; c0 += pool, cell++) {
            int end = at + Math.min(cols, c0 + pool);
            float max = Float.NEGATIVE_INFINITY;
            float min = Float.POSITIVE_INFINITY;
            int c = at + c0;
            for (; c + 1 < end; c += 2) {
                float v = row[c];
                float w = row[c + 1];
                s0 += (double) v * v;
                s1 += (double) w * w;
                if (v > max) {
                    max = v;
                }
                if (v < min) {
                    min = v;
                }
                if (w > max) {
                    max = w;
                }
                if (w < min) {
                    min = w;
                }
            }
            if (c < end) {
                float v = row[c];
                s0 += (double) v * v;
                if (v > max) {
                    max = v;
                }
                if (v < min) {
                    min = v;
                }
            }
            float best = max >= -min ? max : min; // the value of largest magnitude
            if (best == 0 || Double.isNaN(s0 + s1)) { // all ±0, or a NaN in the row: as Math.max/min decide
                best = exactBest(row, at + c0, end);
            }
            double old = dst[cell];
            if (Double.isNaN(old) || Math.abs(best) > Math.abs(old) || Float.isNaN(best)) {
                dst[cell] = best;
            }
        }
        return s0 + s1;
    }

    /** A block's value of largest magnitude by Math.max/min: NaN propagates, +0 beats −0. */
    private static float exactBest(float[] row, int from, int end) {
        float max = Float.NEGATIVE_INFINITY;
        float min = Float.POSITIVE_INFINITY;
        for (int c = from; c < end; c++) {
            max = Math.max(max, row[c]);
            min = Math.min(min, row[c]);
        }
        return max >= -min ? max : min;
    }

    /** As {@link #add(int, FloatBuffer, int, int)}, for float64 rows. */
    public double add(int r, DoubleBuffer values, int off, int cols) {
        double[] row;
        int at;
        if (values.hasArray()) {
            row = values.array();
            at = values.arrayOffset() + off;
        } else {
            if (doubles == null || doubles.length < cols) {
                doubles = new double[cols];
            }
            values.get(off, doubles, 0, cols);
            row = doubles;
            at = 0;
        }
        double[] dst = cells[r / pool];
        double s = 0;
        for (int c0 = 0, cell = 0; c0 < cols; c0 += pool, cell++) {
            int end = at + Math.min(cols, c0 + pool);
            double max = Double.NEGATIVE_INFINITY;
            double min = Double.POSITIVE_INFINITY;
            for (int c = at + c0; c < end; c++) {
                double v = row[c];
                s += v * v;
                if (v > max) {
                    max = v;
                }
                if (v < min) {
                    min = v;
                }
            }
            double best = max >= -min ? max : min;
            if (best == 0 || Double.isNaN(s)) {
                best = exactBest(row, at + c0, end);
            }
            double old = dst[cell];
            if (Double.isNaN(old) || Math.abs(best) > Math.abs(old) || Double.isNaN(best)) {
                dst[cell] = best;
            }
        }
        return s;
    }

    private static double exactBest(double[] row, int from, int end) {
        double max = Double.NEGATIVE_INFINITY;
        double min = Double.POSITIVE_INFINITY;
        for (int c = from; c < end; c++) {
            max = Math.max(max, row[c]);
            min = Math.min(min, row[c]);
        }
        return max >= -min ? max : min;
    }

    /** Folds in another pooling of the same matrix (other rows of it): the larger magnitude wins. */
    public void merge(PooledMatrix other) {
        for (int i = 0; i < cells.length; i++) {
            for (int j = 0; j < cells[i].length; j++) {
                double v = other.cells[i][j];
                if (!Double.isNaN(v) && (Double.isNaN(cells[i][j]) || Math.abs(v) > Math.abs(cells[i][j]))) {
                    cells[i][j] = v;
                }
            }
        }
    }

    /** The max-|v| pooling of a whole matrix to at most {@code limit} cells a side. */
    public static double[][] of(double[][] m, int limit) {
        int cols = m.length == 0 ? 0 : m[0].length;
        PooledMatrix pooled = new PooledMatrix(m.length, cols, limit);
        if (pooled.pool == 1) {
            return m;
        }
        for (int r = 0; r < m.length; r++) {
            pooled.add(r, DoubleBuffer.wrap(m[r]), 0, cols);
        }
        return pooled.cells;
    }

    /** The pooled cells (rows of blocks never added are NaN). */
    public double[][] cells() {
        return cells;
    }
}
