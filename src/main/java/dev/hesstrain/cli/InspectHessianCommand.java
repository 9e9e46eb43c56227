package dev.hesstrain.cli;

import dev.hesstrain.inspect.InspectException;
import dev.hesstrain.inspect.InspectJob;
import dev.hesstrain.inspect.InspectOptions;
import dev.hesstrain.inspect.Report;
import dev.hesstrain.runs.Json;
import dev.hesstrain.setup.Setup;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
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
            "1:an internal error",
            "2:bad usage, spec, weights, points or vector, or an output that does not fit"
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

    @Option(names = "--of", paramLabel = "output|loss",
            description = "The Hessian of the model output or of the loss (default: output for --wrt input, "
                    + "loss for --wrt params).")
    String of;

    @Option(names = "--wrt", paramLabel = "input|params", defaultValue = "params",
            description = "With respect to the input (per point) or all parameters (default: ${DEFAULT-VALUE}).")
    String wrt;

    @Option(names = {"-q", "--quantity"}, paramLabel = "LIST", split = ",", defaultValue = "full",
            description = "Comma list of full, diag, rowsum, hvp, trace, eigs, density (default: ${DEFAULT-VALUE}).")
    List<String> quantities = new ArrayList<>();

    @Option(names = "--vector", paramLabel = "FILE.npy", description = "The vector v of --quantity hvp.")
    Path vector;

    @Option(names = "--probes", paramLabel = "N", defaultValue = "100",
            description = "Rademacher probes of the Hutchinson trace estimate and of density (default: ${DEFAULT-VALUE}).")
    int probes;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0",
            description = "Seed of probes, Lanczos start vectors and --samples (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--k", paramLabel = "K", defaultValue = "6",
            description = "Eigenvalues of largest magnitude that eigs reports (default: ${DEFAULT-VALUE}).")
    int k;

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

    @Option(names = "--json", description = "Print summary.json instead of the table.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        InspectOptions options = new InspectOptions(run, specOptions.config(), weights, specOptions.overrides(),
                points, samples, of, wrt, quantities, vector, probes, seed, k, eigenvectors, steps, rows, output.out(),
                output.runs(), hvpBatch, threads.value());
        PrintWriter err = command.commandLine().getErr();
        InspectJob.Outcome outcome;
        try {
            options.validate();
            Setup.threads(1); // parallelism comes from the row workers, not from within ops
            outcome = new InspectJob(options, Path.of("").toAbsolutePath()).run(line -> {
                err.println(line);
                err.flush();
            });
        } catch (InspectException e) {
            throw new UserException(ExitCodes.USAGE, e.getMessage(), e);
        }
        PrintWriter o = command.commandLine().getOut();
        o.print(json ? Json.toString(outcome.summary()) + "\n" : Report.table(outcome.dir(), outcome.summary()));
        o.flush();
        return ExitCodes.OK;
    }
}
