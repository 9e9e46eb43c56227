package dev.hesstrain.inspect;

import dev.hesstrain.runs.Npy;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * max |H − Hᵀ| of a float32 matrix stored row-major in a .npy file, read back through memory
 * maps in bands and compared tile by tile, so that the matrix is never held in the heap.
 */
final class Symmetry {
    private static final long BAND_BYTES = 256L << 20;
    private static final int TILE = 128;

    private Symmetry() {}

    /** max |H[i][j] − H[j][i]| over the leading n × n block, n = min(rows, cols); float32 or float64. */
    static double maxAsymmetry(Path file, int rows, int cols) throws IOException {
        int n = Math.min(rows, cols);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Npy.Header h = Npy.readHeader(ch, file);
            long offset = h.dataOffset();
            if (Npy.F8.equals(h.descr())) {
                return maxAsymmetry64(ch, offset, n, cols);
            }
            long rowBytes = (long) cols * Float.BYTES;
            int band = (int) Math.max(1, Math.min(n, BAND_BYTES / rowBytes));
            double max = 0;
            for (int i0 = 0; i0 < n; i0 += band) {
                int i1 = Math.min(n, i0 + band);
                FloatBuffer a = map(ch, offset + i0 * rowBytes, (i1 - i0) * rowBytes);
                for (int j0 = i0; j0 < n; j0 += band) {
                    int j1 = Math.min(n, j0 + band);
                    FloatBuffer b = j0 == i0 ? a : map(ch, offset + j0 * rowBytes, (j1 - j0) * rowBytes);
                    max = Math.max(max, compare(a, i0, i1, b, j0, j1, cols));
                }
            }
            return max;
        }
    }

    private static double compare(FloatBuffer a, int i0, int i1, FloatBuffer b, int j0, int j1, int cols) {
        double max = 0;
        for (int ti = i0; ti < i1; ti += TILE) {
            for (int tj = Math.max(j0, ti); tj < j1; tj += TILE) {
                int ie = Math.min(i1, ti + TILE);
                int je = Math.min(j1, tj + TILE);
                for (int i = ti; i < ie; i++) {
                    int rowA = (i - i0) * cols;
                    for (int j = Math.max(tj, i + 1); j < je; j++) {
                        float x = a.get(rowA + j);
                        float y = b.get((j - j0) * cols + i);
                        double diff = Math.abs((double) x - y);
                        if (diff > max || Double.isNaN(diff)) {
                            max = Double.isNaN(diff) ? Double.NaN : diff;
                            if (Double.isNaN(max)) {
                                return max;
                            }
                        }
                    }
                }
            }
        }
        return max;
    }

    private static double maxAsymmetry64(FileChannel ch, long offset, int n, int cols) throws IOException {
        long rowBytes = (long) cols * Double.BYTES;
        int band = (int) Math.max(1, Math.min(n, BAND_BYTES / rowBytes));
        double max = 0;
        for (int i0 = 0; i0 < n; i0 += band) {
            int i1 = Math.min(n, i0 + band);
            DoubleBuffer a = ch.map(FileChannel.MapMode.READ_ONLY, offset + i0 * rowBytes, (i1 - i0) * rowBytes)
                    .order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer();
            for (int j0 = i0; j0 < n; j0 += band) {
                int j1 = Math.min(n, j0 + band);
                DoubleBuffer b = j0 == i0 ? a : ch.map(FileChannel.MapMode.READ_ONLY, offset + j0 * rowBytes,
                        (j1 - j0) * rowBytes).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer();
                for (int i = i0; i < i1; i++) {
                    for (int j = Math.max(j0, i + 1); j < j1; j++) {
                        double diff = Math.abs(a.get((i - i0) * cols + j) - b.get((j - j0) * cols + i));
                        if (Double.isNaN(diff)) {
                            return Double.NaN;
                        }
                        max = Math.max(max, diff);
                    }
                }
            }
        }
        return max;
    }

    private static FloatBuffer map(FileChannel ch, long position, long size) throws IOException {
        return ch.map(FileChannel.MapMode.READ_ONLY, position, size).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
    }
}
