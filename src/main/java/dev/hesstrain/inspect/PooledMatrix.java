package dev.hesstrain.inspect;

import java.util.Arrays;

/**
 * A large matrix seen row by row, kept only as its max-|value| pooling into blocks of
 * {@code pool × pool} entries, small enough for a heatmap (at most {@code limit} cells a side).
 */
final class PooledMatrix {
    private final int pool;
    private final double[][] cells;

    PooledMatrix(int rows, int cols, int limit) {
        int longest = Math.max(rows, cols);
        this.pool = Math.max(1, (longest + limit - 1) / limit);
        this.cells = new double[(rows + pool - 1) / pool][(cols + pool - 1) / pool];
        for (double[] r : cells) {
            Arrays.fill(r, Double.NaN);
        }
    }

    int pool() {
        return pool;
    }

    /** Adds row {@code r}, {@code cols} values from {@code values[off]}. */
    void add(int r, float[] values, int off, int cols) {
        double[] dst = cells[r / pool];
        for (int c0 = 0, cell = 0; c0 < cols; c0 += pool, cell++) {
            int end = Math.min(cols, c0 + pool);
            float best = Float.NaN;
            float bestAbs = -1;
            for (int c = c0; c < end; c++) {
                float v = values[off + c];
                float a = Math.abs(v);
                if (a > bestAbs) {
                    bestAbs = a;
                    best = v;
                }
            }
            if (bestAbs >= 0 && (Double.isNaN(dst[cell]) || bestAbs > Math.abs(dst[cell]))) {
                dst[cell] = best;
            }
        }
    }

    /** The pooled cells (rows of blocks never added are NaN). */
    double[][] cells() {
        return cells;
    }
}
