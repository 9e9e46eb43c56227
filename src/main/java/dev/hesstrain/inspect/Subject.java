package dev.hesstrain.inspect;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.hesstrain.data.Dataset;
import dev.hesstrain.data.Generator;
import dev.hesstrain.data.Npz;
import dev.hesstrain.data.Split;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Weights;
import dev.hesstrain.runs.RunDirectory;
import dev.hesstrain.setup.Setup;
import dev.hesstrain.spec.DataSpec;
import dev.hesstrain.spec.Spec;
import dev.hesstrain.spec.SpecException;
import dev.hesstrain.spec.SpecLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Map;

/**
 * The network to inspect, with its spec and its training points: from a run directory (spec.yaml,
 * model.safetensors, data.npz) or from a spec, built and initialised exactly as {@code train}
 * builds it ({@link Setup#loadData}, {@link Setup#buildNetwork}), then optionally loaded
 * with safetensors weights.
 */
final class Subject implements AutoCloseable {
    final Spec spec;
    final String specSource;
    final Path runDir;
    final Path weights;
    final NDManager manager;
    final Network net;
    final Points training;
    final String device;

    private Subject(Spec spec, String specSource, Path runDir, Path weights, NDManager manager, Network net,
            Points training, String device) {
        this.spec = spec;
        this.specSource = specSource;
        this.runDir = runDir;
        this.weights = weights;
        this.manager = manager;
        this.net = net;
        this.training = training;
        this.device = device;
    }

    static Subject load(InspectOptions o, Path baseDir) {
        return o.run() != null ? fromRun(o) : fromSpec(o, baseDir);
    }

    private static Subject fromRun(InspectOptions o) {
        RunDirectory run;
        try {
            run = RunDirectory.open(o.run());
        } catch (IOException e) {
            throw new InspectException("--run: " + e.getMessage(), e);
        }
        Path specFile = run.file(RunDirectory.SPEC);
        Spec spec = SpecLoader.load(specFile, o.overrides());
        Points training = runData(run.file(RunDirectory.DATA));
        Path weights = o.weights() != null ? o.weights() : run.file(RunDirectory.WEIGHTS);
        return build(spec, specFile.toString(), o.run(), weights, training);
    }

    private static Subject fromSpec(InspectOptions o, Path baseDir) {
        Spec spec = SpecLoader.load(o.config(), o.overrides());
        Split split = Setup.loadData(spec, o.config().toString(), baseDir);
        Dataset train = split.train();
        Points training = new Points(train.x(), train.n(), train.d(), train.y(), "the training split of " + o.config());
        return build(spec, o.config().toString(), null, o.weights(), training,
                Setup.classes(spec, split));
    }

    private static Subject build(Spec spec, String source, Path runDir, Path weights, Points training) {
        int classes = 0;
        if (spec.isClassification()) {
            for (double v : training.y()) {
                classes = Math.max(classes, (int) v + 1);
            }
        }
        return build(spec, source, runDir, weights, training, classes);
    }

    private static Subject build(Spec spec, String source, Path runDir, Path weights, Points training, int classes) {
        Device device = Setup.device(spec, source);
        int targets = spec.isClassification() ? 1 : training.y().length / Math.max(1, training.n());
        NDManager manager = NDManager.newBaseManager(device);
        try {
            Network net = Setup.buildNetwork(spec, source, training.d(), targets, classes, manager);
            if (weights != null) {
                try {
                    Weights.load(net, weights);
                } catch (IOException e) {
                    throw new InspectException((runDir != null && weights.startsWith(runDir) ? "the run's weights: " : "--weights: ")
                            + e.getMessage(), e);
                }
            }
            return new Subject(spec, source, runDir, weights, manager, net, training, device.toString());
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** x_train and y_train of a run's data.npz. */
    private static Points runData(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new InspectException("--run: " + file.getParent() + " has no " + file.getFileName()
                    + " (the training data); give --points FILE or --samples N");
        }
        Map<String, Npz.Array> arrays;
        try {
            arrays = Npz.read(file);
        } catch (IOException | RuntimeException e) {
            throw new InspectException("--run: cannot read " + file + ": " + e.getMessage(), e);
        }
        Npz.Array x = arrays.get("x_train");
        Npz.Array y = arrays.get("y_train");
        if (x == null || y == null || x.shape().length != 2) {
            throw new InspectException("--run: " + file + " must hold x_train [n, d] and y_train, found "
                    + new ArrayList<>(arrays.keySet()));
        }
        return new Points(x.values(), (int) x.shape()[0], (int) x.shape()[1], y.values(),
                "x_train and y_train of " + file);
    }

    /** Fresh points from the spec's generator, drawn with {@code seed}. */
    Points samples(int count, long seed) {
        DataSpec d = spec.data();
        if (!d.isGenerated()) {
            throw new InspectException("--samples draws from the spec's generator, but " + specSource
                    + " reads its data from " + d.file() + "; give --points FILE instead");
        }
        DataSpec more = new DataSpec(d.generator(), null, null, d.inputs(), count, d.domain(), d.noise(), d.validation());
        Dataset data;
        try {
            data = Generator.generate(more, seed);
        } catch (SpecException e) {
            throw e.under("data").in(specSource, 0, 0);
        }
        return new Points(data.x(), data.n(), data.d(), data.y(), count + " samples of '" + d.generator() + "' (seed "
                + seed + ")");
    }

    /** The name inspections of this subject are called by. */
    String name() {
        return spec.name();
    }

    @Override
    public void close() {
        manager.close();
    }
}
