package dev.hesstrain.cli;

import dev.hesstrain.inspect.Choice.Matrix;
import dev.hesstrain.inspect.Choice.Method;
import dev.hesstrain.inspect.Choice.Of;
import dev.hesstrain.inspect.Choice.Quantity;
import dev.hesstrain.inspect.Choice.Wrt;
import dev.hesstrain.inspect.InspectException;
import dev.hesstrain.inspect.InspectJob;
import dev.hesstrain.inspect.InspectOptions;
import dev.hesstrain.inspect.Report;
import dev.hesstrain.runs.Json;
import dev.hesstrain.runs.RunDirectory;
import dev.hesstrain.setup.Setup;
import dev.hesstrain.spec.SpecException;
import dev.hesstrain.spec.SpecLoader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/** {@code hesstrain inspect-hessian}: Hessians of a run or a spec, w.r.t. the input or all parameters. */
@Command(
        name = "inspect-hessian",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        header = "Compute Hessians of a run's or a spec's model, w.r.t. its input or all its parameters.",
        description = "Compute and export the Hessian of a model's output or loss with respect to its input or all its "
                + "parameters: hessian.npy, diag.npy, rowsum.npy, hvp.npy, eigenvalues.npy, density.csv, "
                + "layout.json, summary.json and plots in the output directory, and a table on stdout. See "
                + "docs/inspect-hessian.md.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:done",
            "1:an internal error, or an output that could not be written (disk full)",
            "2:bad usage, spec, weights, points or vector, or an output that does not fit",
            "130:interrupted (Ctrl-C, SIGTERM); partial files are removed"
        })
public final class InspectHessianCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    CommandSpec command;

    @Option(names = "--run", paramLabel = "DIR", description = "A run directory: its spec.yaml, model.safetensors and data.npz.")
    Path run;

    /** --config SPEC: the model initialised from its seed exactly as train does, or loaded with --weights. */
    @Mixin
    SpecOptions specOptions;

    @Option(names = "--weights", paramLabel = "FILE.safetensors",
            description = "Weights under PyTorch names (0.weight, 0.bias, 2.weight, ...), as torch's save_file writes them.")
    Path weights;

    @Option(names = "--points", paramLabel = "FILE",
            description = "Points: a CSV with a header (inputs, then the target column(s) for a loss), a .npy [N, d], "
                    + "or an .npz with x (and y). Default: the training split.")
    Path points;

    @Option(names = "--samples", paramLabel = "N", description = "N fresh points from the spec's generator (seeded by --seed).")
    Integer samples;

    @Option(names = "--of", paramLabel = "output|loss", converter = OfConverter.class,
            description = "The Hessian of the model output or of the loss (default: output for --wrt input, "
                    + "loss for --wrt params).")
    Of of;

    @Option(names = "--wrt", paramLabel = "input|params", converter = WrtConverter.class,
            description = "With respect to the input (per point) or all parameters (default: "
                    + InspectOptions.DEFAULT_WRT + ").")
    Wrt wrt;

    @Option(names = "--curvature", paramLabel = "hessian|ggn|fisher", converter = MatrixConverter.class,
            description = "With --wrt params --of loss: the Hessian, the generalised Gauss-Newton matrix (split at the "
                    + "logits), or the Monte Carlo Fisher (default: hessian).")
    Matrix curvature;

    @Option(names = "--method", paramLabel = "backprop|rows", converter = MethodConverter.class,
            description = "The parameter diagonal (and exact trace) by the curvature backpropagation pass, or from "
                    + "every row, P products, as a cross-check (default: backprop; rows where the pass cannot take "
                    + "the model).")
    Method method;

    @Option(names = "--samples-per-point", paramLabel = "K",
            description = "Sampled labels per point of --curvature fisher, seeded by --seed (default: "
                    + InspectOptions.DEFAULT_SAMPLES_PER_POINT + ").")
    Integer samplesPerPoint;

    @Option(names = "--repeat", paramLabel = "N", hidden = true,
            description = "Benchmarking aid: run the curvature pass of diag N times and report the fastest as seconds_min.")
    Integer repeat;

    @Option(names = {"-q", "--quantity"}, paramLabel = "LIST", split = ",", converter = QuantityConverter.class,
            description = "Comma list of full, diag, rowsum, hvp, trace, eigs, density (default: "
                    + InspectOptions.DEFAULT_QUANTITIES + ").")
    List<Quantity> quantities = new ArrayList<>();

    @Option(names = "--vector", paramLabel = "FILE.npy", description = "The vector v of --quantity hvp.")
    Path vector;

    @Option(names = "--probes", paramLabel = "N",
            description = "Rademacher probes of the Hutchinson trace estimate and of density (default: "
                    + InspectOptions.DEFAULT_PROBES + ").")
    Integer probes;

    @Option(names = "--seed", paramLabel = "S",
            description = "Seed of probes, Lanczos start vectors and --samples (default: " + InspectOptions.DEFAULT_SEED
                    + ").")
    Long seed;

    @Option(names = "--k", paramLabel = "K",
            description = "Eigenvalues of largest magnitude that eigs reports (default: " + InspectOptions.DEFAULT_K + ").")
    Integer k;

    @Option(names = "--eigenvectors", description = "With eigs, also write eigenvectors.npy.")
    boolean eigenvectors;

    @Option(names = "--steps", paramLabel = "M",
            description = "Lanczos steps: at most M for eigs (default max(100, 4k+20)), exactly M per probe for density "
                    + "(default 80).")
    Integer steps;

    @Option(names = "--rows", paramLabel = "N",
            description = "Benchmarking aid: compute only the first N rows of the full parameter Hessian.")
    Integer rows;

    @Option(names = "--hvp-batch", paramLabel = "K",
            description = "Hessian-vector products per backward pass (the network runs on K replicas of its parameters; "
                    + "default: automatic).")
    Integer hvpBatch;

    @Mixin
    ThreadsOption threads;

    @Mixin
    OutputOptions output;

    @Mixin
    OverwriteOption overwrite;

    @Option(names = "--json", description = "Print summary.json instead of the table.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        InspectOptions options = InspectOptions.builder().run(run).config(specOptions.config()).weights(weights).overrides(specOptions.overrides())
                .points(points).samples(samples).of(of).wrt(wrt).quantities(Set.copyOf(quantities)).vector(vector)
                .probes(probes).seed(seed).k(k).eigenvectors(eigenvectors).steps(steps).rows(rows).out(output.out())
                .runsRoot(output.runs()).hvpBatch(hvpBatch).threads(threads.value()).curvature(curvature).method(method)
                .samplesPerPoint(samplesPerPoint).repeat(repeat).build();
        PrintWriter err = command.commandLine().getErr();
        InspectJob.Outcome outcome;
        try {
            options.validate();
            Setup.threads(1); // parallelism comes from the row workers, not from within ops
            java.util.concurrent.atomic.AtomicReference<String> stop = Interrupts.install();
            outcome = new InspectJob(options, Path.of("").toAbsolutePath(), () -> stop.get() != null)
                    .overwrite(overwrite.mode() == RunDirectory.Mode.OVERWRITE).run(line -> {
                err.println(line);
                err.flush();
            });
        } catch (InspectException e) {
            throw new UserException(ExitCodes.USAGE, e.getMessage(), e);
        } catch (SpecException e) {
            throw SpecLoader.byOverride(e, specOptions.overrides()); // an error in a field a --set gave names that --set
        } catch (IOException e) {
            throw new UserException(ExitCodes.FAILED, "inspect-hessian could not write its outputs: " + cause(e)
                    + "; files being written were removed, those complete before stay", e);
        } catch (InspectJob.Interrupted e) {
            err.println("interrupted: " + e.getMessage());
            err.flush();
            return ExitCodes.INTERRUPTED;
        }
        PrintWriter o = command.commandLine().getOut();
        o.print(json ? Json.toString(outcome.summary()) + "\n" : Report.table(outcome));
        o.flush();
        return ExitCodes.OK;
    }

    /** The innermost message of an I/O failure ("No space left on device"), with the outer one when it differs. */
    static String cause(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String outer = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        String inner = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        return root == e || outer.contains(inner) ? outer : outer + " (" + inner + ")";
    }

    /** The closed sets are parsed once, here, with the messages of {@link dev.hesstrain.inspect.Choice}. */
    static final class WrtConverter implements ITypeConverter<Wrt> {
        @Override
        public Wrt convert(String value) {
            return converted(() -> Wrt.parse(value));
        }
    }

    static final class OfConverter implements ITypeConverter<Of> {
        @Override
        public Of convert(String value) {
            return converted(() -> Of.parse(value));
        }
    }

    static final class MatrixConverter implements ITypeConverter<Matrix> {
        @Override
        public Matrix convert(String value) {
            return converted(() -> Matrix.parse(value));
        }
    }

    static final class MethodConverter implements ITypeConverter<Method> {
        @Override
        public Method convert(String value) {
            return converted(() -> Method.parse(value));
        }
    }

    static final class QuantityConverter implements ITypeConverter<Quantity> {
        @Override
        public Quantity convert(String value) {
            return converted(() -> Quantity.parse(value));
        }
    }

    private static <T> T converted(java.util.function.Supplier<T> parse) {
        try {
            return parse.get();
        } catch (InspectException e) {
            throw new TypeConversionException(e.getMessage());
        }
    }
}
