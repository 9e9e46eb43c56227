package dev.hesstrain.data;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** Reads NumPy .npz archives (as numpy.savez writes them) into float64 arrays by name. */
public final class Npz {
    private Npz() {}

    /** One array of an archive: its shape and its values in row-major order, as float64. */
    public record Array(long[] shape, double[] values) {
        /** The length of the first axis (0 for a 0-d array). */
        public long rows() {
            return shape.length == 0 ? 0 : shape[0];
        }

        public long size() {
            return values.length;
        }

        public String shapeString() {
            return new ai.djl.ndarray.types.Shape(shape).toString();
        }
    }

    /**
     * The arrays of {@code file} in archive order, named without the ".npy" suffix of their
     * entries. An {@link IOException} means the file could not be read; an archive that cannot
     * be decoded throws the engine's {@link RuntimeException}.
     */
    public static Map<String, Array> read(Path file) throws IOException {
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
                InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            NDList list = NDList.decode(m, in);
            Map<String, Array> out = new LinkedHashMap<>();
            for (NDArray a : list) {
                String name = a.getName() == null ? "" : a.getName().replaceAll("\\.npy$", "");
                out.put(name, new Array(a.getShape().getShape(), a.toType(DataType.FLOAT64, false).toDoubleArray()));
            }
            return Collections.unmodifiableMap(out);
        }
    }
}
