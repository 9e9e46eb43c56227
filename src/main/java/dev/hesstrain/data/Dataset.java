package dev.hesstrain.data;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * An in-memory table of samples: inputs {@code x} (row-major [n, d]) and targets {@code y}
 * (row-major [n, o]). For classification o = 1 and the targets are class labels 0..C-1 stored as
 * doubles.
 *
 * <p>The arrays are shared, not copied: treat them as read-only.
 */
public final class Dataset {
    private final double[] x;
    private final double[] y;
    private final int n;
    private final int d;
    private final int o;
    private final List<String> inputNames;
    private final List<String> targetNames;
    private final String source;

    /**
     * @param x inputs, row-major [n, d]
     * @param y targets, row-major [n, o]
     * @param inputNames d names
     * @param targetNames o names
     * @param source where the data came from (an expression or a file path), for people
     */
    public Dataset(
            double[] x, double[] y, int n, int d, int o,
            List<String> inputNames, List<String> targetNames, String source) {
        if (n < 0 || d <= 0 || o <= 0) {
            throw new IllegalArgumentException("bad shape n=" + n + " d=" + d + " o=" + o);
        }
        if (x.length != (long) n * d || y.length != (long) n * o) {
            throw new IllegalArgumentException("x has " + x.length + " values and y " + y.length
                    + ", expected " + (long) n * d + " and " + (long) n * o);
        }
        if (inputNames.size() != d || targetNames.size() != o) {
            throw new IllegalArgumentException("expected " + d + " input names and " + o
                    + " target names, found " + inputNames + " and " + targetNames);
        }
        this.x = x;
        this.y = y;
        this.n = n;
        this.d = d;
        this.o = o;
        this.inputNames = List.copyOf(inputNames);
        this.targetNames = List.copyOf(targetNames);
        this.source = source;
    }

    /** Inputs, row-major [n, d]. */
    public double[] x() {
        return x;
    }

    /** Targets, row-major [n, o]. */
    public double[] y() {
        return y;
    }

    /** Number of rows (samples). */
    public int n() {
        return n;
    }

    /** Number of inputs per row. */
    public int d() {
        return d;
    }

    /** Number of targets per row. */
    public int o() {
        return o;
    }

    public List<String> inputNames() {
        return inputNames;
    }

    public List<String> targetNames() {
        return targetNames;
    }

    /** Where the data came from: the generator expression or the file path. */
    public String source() {
        return source;
    }

    /** Input {@code j} of row {@code i}. */
    public double x(int i, int j) {
        return x[i * d + j];
    }

    /** Target {@code k} of row {@code i}. */
    public double y(int i, int k) {
        return y[i * o + k];
    }

    /** The rows {@code idx}, in that order (repeats allowed). */
    public Dataset rows(int[] idx) {
        double[] xs = new double[idx.length * d];
        double[] ys = new double[idx.length * o];
        for (int r = 0; r < idx.length; r++) {
            int i = idx[r];
            if (i < 0 || i >= n) {
                throw new IndexOutOfBoundsException("row " + i + " of " + n);
            }
            System.arraycopy(x, i * d, xs, r * d, d);
            System.arraycopy(y, i * o, ys, r * o, o);
        }
        return new Dataset(xs, ys, idx.length, d, o, inputNames, targetNames, source);
    }

    /** The first {@code count} rows. */
    public Dataset head(int count) {
        int[] idx = new int[Math.min(count, n)];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        return rows(idx);
    }

    /** Number of classes (largest label + 1); only meaningful for classification targets. */
    public int classes() {
        double max = -1;
        for (double v : y) {
            max = Math.max(max, v);
        }
        return (int) max + 1;
    }

    /**
     * SHA-256 (lower-case hex) of the shape (n, d, o as little-endian int64) followed by the raw
     * little-endian float64 bytes of x and then y. Names and source are not included.
     */
    public String sha256() {
        return sha256(new long[] {n, d, o}, x, y);
    }

    /**
     * SHA-256 (lower-case hex) of {@code dims} as little-endian int64 followed by the raw
     * little-endian float64 bytes of each array in turn: how data are hashed for provenance.
     */
    public static String sha256(long[] dims, double[]... arrays) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
        ByteBuffer shape = ByteBuffer.allocate(dims.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (long dim : dims) {
            shape.putLong(dim);
        }
        md.update(shape.array());
        for (double[] a : arrays) {
            update(md, a);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static void update(MessageDigest md, double[] values) {
        ByteBuffer buf = ByteBuffer.allocate(8192).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : values) {
            if (!buf.hasRemaining()) {
                md.update(buf.array(), 0, buf.position());
                buf.clear();
            }
            buf.putDouble(v);
        }
        md.update(buf.array(), 0, buf.position());
    }

    @Override
    public String toString() {
        return "Dataset[" + source + ": n=" + n + ", inputs=" + inputNames + ", targets=" + targetNames + "]";
    }
}
