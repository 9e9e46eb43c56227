package dev.hesstrain.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Parameter;
import dev.hesstrain.model.Weights;
import dev.hesstrain.runs.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What {@code train --resume} continues from, in one safetensors file written atomically
 * ({@code checkpoint.safetensors}): the weights under their PyTorch names, the optimizer's state
 * ({@code optimizer.m.0}, {@code optimizer.v.0}: Adam's moments or SGD's momentum buffer, which
 * holds lr·b as the engine's fused update keeps it), and
 * {@code checkpoint.position} (int64: whole epochs done, batches of the next, steps, optimizer
 * updates) with {@code checkpoint.sums} (float64: the cut epoch's running sums, see
 * {@link Trainer.Position}). One file, so that a process killed between two writes cannot leave
 * weights of one epoch beside optimizer state of another. {@code model.safetensors} stays the
 * weights alone, for PyTorch.
 */
public final class CheckpointFile {
    static final String POSITION = "checkpoint.position";
    static final String SUMS = "checkpoint.sums";

    private CheckpointFile() {}

    /**
     * A checkpoint read back: the position, the optimizer's update count and its state arrays by
     * name (in the network's manager: the caller closes them once copied).
     */
    public record Saved(Trainer.Position position, long updates, Map<String, NDArray> optimizerState) {}

    /**
     * Writes the network's weights, the optimizer's state given by name ({@code optimizer.m.0}, and
     * for Adam {@code optimizer.v.0}: a member's row of the trainer's state), its update count and
     * the loop's position to {@code file}, atomically.
     */
    public static void write(Path file, Network net, Map<String, NDArray> optimizerState, long updates, Trainer.Position p)
            throws IOException {
        try (NDManager m = net.manager().newSubManager()) {
            NDList list = new NDList();
            for (Parameter param : net.parameters()) {
                list.add(named(param.array().duplicate(), param.name(), m));
            }
            for (Map.Entry<String, NDArray> e : optimizerState.entrySet()) {
                list.add(named(e.getValue().duplicate(), e.getKey(), m));
            }
            list.add(named(m.create(new long[] {p.epochs(), p.batches(), p.steps(), updates}), POSITION, m));
            list.add(named(m.create(p.sums()), SUMS, m));
            AtomicFiles.write(file, os -> list.encode(os, NDList.Encoding.SAFETENSORS));
        }
    }

    /**
     * The position recorded in a checkpoint, read without a model (to tell whether a run has
     * anything left to do before building one).
     */
    public static Trainer.Position position(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("no checkpoint at " + file);
        }
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            Map<String, NDArray> byName = Weights.decode(file, m, "a checkpoint");
            return position(file, byName.get(POSITION), byName.get(SUMS));
        }
    }

    private static Trainer.Position position(Path file, NDArray position, NDArray sums) throws IOException {
        if (position == null || sums == null || position.size() != 4) {
            throw new IOException(file + " is not a checkpoint: it has no " + POSITION + " and " + SUMS);
        }
        long[] pos = position.toType(DataType.INT64, false).toLongArray();
        try {
            return new Trainer.Position(Math.toIntExact(pos[0]), Math.toIntExact(pos[1]), pos[2],
                    sums.toType(DataType.FLOAT64, false).toDoubleArray());
        } catch (ArithmeticException | IllegalArgumentException e) {
            throw new IOException(file + " holds an impossible position: " + e.getMessage());
        }
    }

    private static NDArray named(NDArray a, String name, NDManager m) {
        a.attach(m);
        a.setName(name);
        return a;
    }

    /**
     * Restores a checkpoint's weights into {@code net} (built from the run's spec) and returns where
     * the run stood, with the optimizer's state. Names, shapes and finiteness of the weights are
     * checked before anything is changed.
     *
     * @throws IOException naming the file and what is wrong with it
     */
    public static Saved restore(Path file, Network net) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("no checkpoint at " + file);
        }
        try (NDManager m = net.manager().newSubManager()) {
            Map<String, NDArray> byName = Weights.decode(file, m, "a checkpoint");
            NDArray position = byName.remove(POSITION);
            Trainer.Position p = position(file, position, byName.remove(SUMS));
            long[] pos = position.toType(DataType.INT64, false).toLongArray();
            List<String> problems = new ArrayList<>();
            for (Parameter param : net.parameters()) {
                NDArray a = byName.get(param.name());
                if (a == null) {
                    problems.add("missing " + param.name() + " " + param.array().getShape());
                } else if (!a.getShape().equals(param.array().getShape())) {
                    problems.add(param.name() + " has shape " + a.getShape() + ", the spec's model needs "
                            + param.array().getShape());
                } else if (!finite(a)) {
                    problems.add(param.name() + " holds NaN or infinite values");
                }
            }
            if (!problems.isEmpty()) {
                throw new IOException("the checkpoint " + file + " does not match the model:\n  "
                        + String.join("\n  ", problems));
            }
            if (pos[3] < 0) {
                throw new IOException("the checkpoint " + file + " has the update count " + pos[3]);
            }
            Map<String, NDArray> state = new java.util.LinkedHashMap<>();
            for (Map.Entry<String, NDArray> e : byName.entrySet()) {
                if (e.getKey().startsWith("optimizer.")) {
                    NDArray a = e.getValue().duplicate();
                    a.attach(net.manager());
                    state.put(e.getKey(), a);
                }
            }
            for (Parameter param : net.parameters()) { // in place: the parameters may be views of one flat array
                param.array().set(new NDIndex(":"), byName.get(param.name()).toType(param.array().getDataType(), false));
            }
            return new Saved(p, pos[3], state);
        }
    }

    private static boolean finite(NDArray a) {
        return !a.isNaN().any().getBoolean() && !a.isInfinite().any().getBoolean();
    }
}
