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
     * their squares (one pass over the row serves both).
     */
    public double add(int r, FloatBuffer values, int off, int cols) {
        double[] dst = cells[r / pool];
        double s0 = 0;
        double s1 = 0;
        for (int c0 = 0, cell = 0; c0 < cols; c0 += pool, cell++) {
            int end = Math.min(cols, c0 + pool);
            float max = Float.NEGATIVE_INFINITY;
            float min = Float.POSITIVE_INFINITY;
            int c = c0;
            for (; c + 1 < end; c += 2) {
                float v = values.get(off + c);
                float w = values.get(off + c + 1);
                s0 += (double) v * v;
                s1 += (double) w * w;
                max = Math.max(max, Math.max(v, w));
                min = Math.min(min, Math.min(v, w));
            }
            if (c < end) {
                float v = values.get(off + c);
                s0 += (double) v * v;
                max = Math.max(max, v);
                min = Math.min(min, v);
            }
            float best = max >= -min ? max : min; // the value of largest magnitude (NaN propagates)
            double old = dst[cell];
            if (Double.isNaN(old) || Math.abs(best) > Math.abs(old) || Float.isNaN(best)) {
                dst[cell] = best;
            }
        }
        return s0 + s1;
    }

    /** As {@link #add(int, FloatBuffer, int, int)}, for float64 rows. */
    public double add(int r, DoubleBuffer values, int off, int cols) {
        double[] dst = cells[r / pool];
        double s = 0;
        for (int c0 = 0, cell = 0; c0 < cols; c0 += pool, cell++) {
            int end = Math.min(cols, c0 + pool);
            double max = Double.NEGATIVE_INFINITY;
            double min = Double.POSITIVE_INFINITY;
            for (int c = c0; c < end; c++) {
                double v = values.get(off + c);
                s += v * v;
                max = Math.max(max, v);
                min = Math.min(min, v);
            }
            double best = max >= -min ? max : min;
            double old = dst[cell];
            if (Double.isNaN(old) || Math.abs(best) > Math.abs(old) || Double.isNaN(best)) {
                dst[cell] = best;
            }
        }
        return s;
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
