package dev.hesstrain.setup;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.hesstrain.data.DataLoader;
import dev.hesstrain.data.Dataset;
import dev.hesstrain.data.Seeds;
import dev.hesstrain.data.Split;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Torch;
import dev.hesstrain.spec.Spec;
import dev.hesstrain.spec.SpecException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * The one factory for what a spec describes, shared by {@code train} and {@code inspect-hessian}
 * (and sweeps): the engine's threads, the device, the data with their seeded split, and the
 * network initialised from the spec's seed. Both commands build a model exactly the same way
 * because both build it here. Spec errors name the spec file ({@code source}) and the field.
 */
public final class Setup {
    private Setup() {}

    /** Sets PyTorch's intra-op thread count for this process (loading the engine first). */
    public static void threads(int threads) {
        Torch.setThreads(threads);
    }

    /** Where a GPU user finds the way to CUDA natives; {@code device: gpu} without a GPU names it. */
    public static final String GPU_DOCS = "docs/gpu.md";

    /** The device the spec asks for, on this machine. */
    public static Device device(Spec spec, String source) {
        int gpus = Engine.getInstance().getGpuCount();
        return switch (spec.device()) {
            case CPU -> Device.cpu();
            case GPU -> {
                if (gpus == 0) {
                    throw new SpecException(source, "device", 0, 0,
                            "is gpu but PyTorch sees no GPU on this machine (the bundled PyTorch natives are "
                                    + "CPU-only; " + GPU_DOCS + " shows how to point DJL at a CUDA libtorch; or use auto "
                                    + "or cpu)");
                }
                yield Device.gpu();
            }
            default -> gpus > 0 ? Device.gpu() : Device.cpu();
        };
    }

    /**
     * Loads the spec's data (a relative data.file beside the spec file {@code source} first, then
     * against {@code baseDir}), checks them against
     * {@code model.input_shape} and splits them with the spec's split seed.
     */
    public static Split loadData(Spec spec, String source, Path baseDir) {
        Dataset all;
        try {
            all = DataLoader.load(spec.data(), specDir(source), baseDir, Seeds.data(spec.seed()), spec.isClassification(),
                    spec.dtype());
        } catch (SpecException e) {
            throw e.under("data".equals(head(e.field())) ? "" : "data").in(source, 0, 0);
        }
        Integer flat = spec.model().flatInputs();
        if (flat != null && flat != all.d()) {
            throw new SpecException(source, "model.input_shape", 0, 0,
                    "holds " + flat + " features but the data have " + all.d() + " inputs");
        }
        return Split.split(all, spec.data().validation(), Seeds.split(spec.seed()));
    }

    /** The number of classes of a classification spec's data (0 for regression). */
    public static int classes(Spec spec, Split split) {
        return spec.isClassification() ? Math.max(split.train().classes(), split.validation().classes()) : 0;
    }

    /**
     * Builds the spec's network for data of {@code inputs} features and {@code targets} target
     * columns ({@code classes} labels for classification), initialised from the spec's seed.
     * Shape mismatches are spec errors on {@code model.layers}.
     */
    public static Network buildNetwork(Spec spec, String source, int inputs, int targets, int classes,
            NDManager manager) {
        Network net;
        try {
            net = Network.build(spec.model(), inputs, spec.isFloat64() ? DataType.FLOAT64 : DataType.FLOAT32, manager,
                    Seeds.init(spec.seed()));
        } catch (IllegalArgumentException e) {
            throw new SpecException(source, "model.layers", 0, 0, e.getMessage());
        }
        if (!spec.isClassification() && net.outputs() != targets) {
            net.close();
            throw new SpecException(source, "model.layers", 0, 0, "the model has " + net.outputs()
                    + " outputs but the data have " + targets + " target column(s); set the last linear layer's units to "
                    + targets);
        }
        if (spec.isClassification() && net.outputs() < classes) {
            net.close();
            throw new SpecException(source, "model.layers", 0, 0, "the model has " + net.outputs()
                    + " outputs but the labels go up to " + (classes - 1) + "; it needs at least " + classes);
        }
        return net;
    }

    /** The spec file's folder, where a relative data.file is looked for first; null if the source is no file. */
    private static Path specDir(String source) {
        try {
            Path p = Path.of(source).toAbsolutePath().getParent();
            return p != null && Files.isDirectory(p) ? p : null;
        } catch (InvalidPathException e) {
            return null;
        }
    }

    private static String head(String field) {
        if (field == null) {
            return "";
        }
        int dot = field.indexOf('.');
        return dot < 0 ? field : field.substring(0, dot);
    }
}
