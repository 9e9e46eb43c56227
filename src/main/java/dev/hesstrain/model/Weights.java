package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Weights as safetensors under PyTorch's names and shapes ("0.weight" [out, in], "0.bias"), so
 * that the equivalent {@code torch.nn.Sequential} loads them with {@code load_state_dict}.
 */
public final class Weights {
    private Weights() {}

    /** Writes the network's parameters, in their dtype, to a stream. */
    public static void write(Network net, OutputStream os) throws IOException {
        try (NDManager m = net.manager().newSubManager()) {
            NDList list = new NDList();
            for (Parameter p : net.parameters()) {
                NDArray a = p.array().duplicate();
                a.attach(m);
                a.setName(p.name());
                list.add(a);
            }
            list.encode(os, NDList.Encoding.SAFETENSORS);
        }
    }

    /**
     * Overwrites {@code target}'s values in place with {@code values} (same shape and dtype). An
     * indexed assignment, not {@code set(Buffer)}: DJL's native set uses a deprecated PyTorch guard
     * that prints a warning.
     */
    private static void copyInto(NDArray target, NDArray values) {
        target.set(new ai.djl.ndarray.index.NDIndex(":"), values);
    }

    /**
     * A safetensors file starts with the length of its JSON header as a little-endian u64; one that
     * does not fit in the file is refused here (DJL would fail on it with an integer overflow).
     */
    private static void checkHeader(Path file, String what) throws IOException {
        try (FileChannel ch = FileChannel.open(file)) {
            long size = ch.size();
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining() && ch.read(b) >= 0) {
                // read the 8 bytes
            }
            if (b.hasRemaining()) {
                throw new IOException(file + " is not " + what + ": " + size + " bytes, too short for a header");
            }
            long header = b.flip().getLong();
            if (header < 2 || header > size - 8) {
                throw new IOException(file + " is not " + what + ": its header length reads "
                        + Long.toUnsignedString(header) + " bytes, but the file has " + size);
            }
        }
    }

    private static void checkFinite(Path file, NDArray a) throws IOException {
        double[] v = a.toType(DataType.FLOAT64, false).toDoubleArray();
        for (int i = 0; i < v.length; i++) {
            if (!Double.isFinite(v[i])) {
                throw new IOException("the weights in " + file + " are not finite: " + a.getName() + " holds " + v[i]
                        + " at flat index " + i + " of " + a.getShape());
            }
        }
    }

    /** A copy of every parameter's values, in float64, for restoring later. */
    public static Map<String, double[]> snapshot(Network net) {
        Map<String, double[]> s = new LinkedHashMap<>();
        for (Parameter p : net.parameters()) {
            s.put(p.name(), p.array().toType(DataType.FLOAT64, true).toDoubleArray());
        }
        return s;
    }

    /** Restores values taken by {@link #snapshot}. */
    public static void restore(Network net, Map<String, double[]> snapshot) {
        try (NDManager m = net.manager().newSubManager()) {
            for (Parameter p : net.parameters()) {
                NDArray v = m.create(snapshot.get(p.name()), p.array().getShape()).toType(p.array().getDataType(), false);
                copyInto(p.array(), v);
            }
        }
    }

    /**
     * The tensors of a safetensors file by name, in the file's order, attached to {@code m}; its
     * header is checked first. A file that cannot be decoded is an {@link IOException} saying it is
     * not {@code what}.
     */
    public static Map<String, NDArray> decode(Path file, NDManager m, String what) throws IOException {
        checkHeader(file, what);
        NDList list;
        try (InputStream is = Files.newInputStream(file)) {
            list = NDList.decode(m, is);
        } catch (RuntimeException e) {
            throw new IOException(file + " is not " + what + ": " + e.getMessage());
        }
        Map<String, NDArray> byName = new LinkedHashMap<>();
        for (NDArray a : list) {
            byName.put(a.getName(), a);
        }
        return byName;
    }

    /**
     * Loads weights saved by hesstrain or PyTorch ({@code safetensors.torch.save_file}) into the
     * network. Names and shapes must match the network exactly; every mismatch is listed. A file
     * that is not safetensors, or that holds NaN or infinite values, is refused before anything is
     * loaded, with an {@link IOException} naming the file (and the tensor).
     */
    public static void load(Network net, Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("no weights file at " + file);
        }
        try (NDManager m = net.manager().newSubManager()) {
            Map<String, NDArray> all = decode(file, m, "a safetensors file");
            Map<String, NDArray> byName = new LinkedHashMap<>(all);
            List<String> problems = new ArrayList<>();
            for (Parameter p : net.parameters()) {
                NDArray a = byName.remove(p.name());
                if (a == null) {
                    problems.add("missing " + p.name() + " " + p.array().getShape());
                } else if (!a.getShape().equals(p.array().getShape())) {
                    problems.add(p.name() + " has shape " + a.getShape() + ", the spec's model needs " + p.array().getShape());
                }
            }
            for (Map.Entry<String, NDArray> extra : byName.entrySet()) {
                problems.add("unexpected " + extra.getKey() + " " + extra.getValue().getShape());
            }
            if (!problems.isEmpty()) {
                throw new IOException("the weights in " + file + " do not match the model:\n  " + String.join("\n  ", problems));
            }
            for (NDArray a : all.values()) {
                checkFinite(file, a);
            }
            for (Parameter p : net.parameters()) {
                NDArray v = all.get(p.name()).toType(p.array().getDataType(), false);
                copyInto(p.array(), v);
            }
        }
    }
}
