package dev.hesstrain.runs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** .npy files and views that only the tests need: float32 and int64 arrays written in one go, matrices as rows. */
public final class NpyFixtures {
    private NpyFixtures() {}

    /** Writes {@code data} as float32 ({@code <f4}) with the given shape. */
    public static void writeFloat(Path target, float[] data, long[] shape) throws IOException {
        byte[] header = Npy.header(Npy.F4, shape);
        ByteBuffer b = ByteBuffer.allocate(header.length + data.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.put(header);
        for (float v : data) {
            b.putFloat(v);
        }
        Files.write(target, b.array());
    }

    /** Writes {@code data} as int64 ({@code <i8}) with the given shape. */
    public static void writeInt(Path target, long[] data, long[] shape) throws IOException {
        byte[] header = Npy.header(Npy.I8, shape);
        ByteBuffer b = ByteBuffer.allocate(header.length + data.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.put(header);
        for (long v : data) {
            b.putLong(v);
        }
        Files.write(target, b.array());
    }

    /** The values of a 2-D array as rows. */
    public static double[][] matrix(Npy.Array a) {
        if (a.shape().length != 2) {
            throw new IllegalStateException("not a matrix, shape " + Arrays.toString(a.shape()));
        }
        int rows = Math.toIntExact(a.shape()[0]);
        int cols = Math.toIntExact(a.shape()[1]);
        double[][] m = new double[rows][];
        for (int r = 0; r < rows; r++) {
            m[r] = Arrays.copyOfRange(a.values(), r * cols, (r + 1) * cols);
        }
        return m;
    }
}
