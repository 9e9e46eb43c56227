package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
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
     * Loads weights saved by hesstrain or PyTorch ({@code safetensors.torch.save_file}) into the
     * network. Names and shapes must match the network exactly; every mismatch is listed.
     */
    public static void load(Network net, Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("no weights file at " + file);
        }
        try (NDManager m = net.manager().newSubManager(); InputStream is = Files.newInputStream(file)) {
            NDList list;
            try {
                list = NDList.decode(m, is);
            } catch (IllegalArgumentException e) {
                throw new IOException(file + " is not a safetensors file: " + e.getMessage());
            }
            Map<String, NDArray> byName = new LinkedHashMap<>();
            for (NDArray a : list) {
                byName.put(a.getName(), a);
            }
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
            Map<String, NDArray> found = new LinkedHashMap<>();
            for (NDArray a : list) {
                found.put(a.getName(), a);
            }
            for (Parameter p : net.parameters()) {
                NDArray v = found.get(p.name()).toType(p.array().getDataType(), false);
                copyInto(p.array(), v);
            }
        }
    }
}
