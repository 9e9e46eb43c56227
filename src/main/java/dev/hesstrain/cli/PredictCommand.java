package dev.hesstrain.cli;

import dev.hesstrain.inspect.InspectException;
import dev.hesstrain.inspect.PredictJob;
import dev.hesstrain.setup.Setup;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** {@code hesstrain predict}: a trained run's outputs on new points. */
@Command(
        name = "predict",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        header = "Apply a trained run's model to new points.",
        description = "Writes the model's outputs at the points: .npy in and out gives the raw outputs [N, O] in the "
                + "model's dtype; a .csv out has a header, the inputs and the outputs, and for a classifier the "
                + "predicted class and its probability. See docs/predict.md.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:done",
            "1:an internal error, or an output that could not be written",
            "2:bad usage, run directory or points (wrong width, NaN, an empty file)"
        })
public final class PredictCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    CommandSpec command;

    @Option(names = "--run", paramLabel = "DIR", required = true,
            description = "A run directory: its spec.yaml, model.safetensors and data.npz.")
    Path run;

    @Option(names = "--points", paramLabel = "FILE", required = true,
            description = "The points: a .csv of the model's d inputs (with or without a header row), a .npy [N, d], "
                    + "or an .npz with an array x.")
    Path points;

    @Option(names = "--out", paramLabel = "FILE", required = true,
            description = "Where to write the outputs: FILE.csv or FILE.npy (written atomically).")
    Path out;

    @Option(names = "--with", paramLabel = "LIST", split = ",", converter = ExtraConverter.class,
            description = "Per-point extras from the closed-form input Hessian: hessian-fro (sqrt of the sum over "
                    + "outputs of |H|_F^2), hessian-trace (tr H per output). With a .npy out, each goes beside it "
                    + "as FILE.hessian_fro.npy, FILE.hessian_trace.npy.")
    List<PredictJob.Extra> extras = new ArrayList<>();

    @picocli.CommandLine.Mixin
    ThreadsOption threads;

    @Override
    public Integer call() throws IOException {
        Setup.threads(threads.orElse(1));
        PredictJob.Result r;
        try {
            r = new PredictJob(run, points, out, Set.copyOf(extras)).run();
        } catch (InspectException e) {
            throw new UserException(ExitCodes.USAGE, e.getMessage(), e);
        } catch (IOException e) {
            throw new UserException(ExitCodes.FAILED, "predict could not write " + out + ": "
                    + InspectHessianCommand.cause(e), e);
        }
        PrintWriter err = command.commandLine().getErr();
        err.printf("wrote %s: %d points, %d output%s%n", String.join(", ", r.files().stream().map(Path::toString).toList()),
                r.points(), r.outputs(), r.outputs() == 1 ? "" : "s");
        err.flush();
        return ExitCodes.OK;
    }

    static final class ExtraConverter implements ITypeConverter<PredictJob.Extra> {
        @Override
        public PredictJob.Extra convert(String value) {
            try {
                return PredictJob.Extra.parse(value);
            } catch (InspectException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
