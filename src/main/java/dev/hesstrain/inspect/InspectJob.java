package dev.hesstrain.inspect;

import dev.hesstrain.model.Network;
import dev.hesstrain.runs.Json;
import dev.hesstrain.runs.RunDirectory;
import dev.hesstrain.spec.LossKind;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One inspection: loads the model and the points, checks that the outputs fit, computes the
 * quantities asked for, and writes the output directory (arrays as .npy, layout.json,
 * summary.json, plots). The full parameter Hessian is streamed to hessian.npy row by row and never
 * held in memory. The Hessians w.r.t. the parameters are {@link ParamsInspection}'s work, those
 * w.r.t. the input {@link InputInspection}'s; {@link InspectRun} holds what they share.
 */
public final class InspectJob {
    /** Where progress lines go (stderr for the command). */
    public interface Progress {
        void line(String text);
    }

    /**
     * Thrown from the computing thread once a stop was requested (SIGINT, SIGTERM): the partial
     * files are removed as it unwinds, and the message says what was stopped and what was written.
     */
    public static final class Interrupted extends RuntimeException {
        public Interrupted(String message) {
            super(message);
        }
    }

    /** The result: the output directory and the summary written there. */
    /**
     * What an inspection wrote: its directory, its summary.json (as written), and typed views of
     * the summary's quantities (name to figures, in the order computed) and files.
     */
    public record Outcome(Path dir, Map<String, Object> summary, Map<String, Map<String, Object>> quantities,
            List<String> files) {}

    public static final String HESSIAN = "hessian.npy";
    public static final String DIAG = "diag.npy";
    /** The GGN's diagonal, which the curvature backpropagation pass gives beside the Hessian's. */
    public static final String DIAG_GGN = "diag_ggn.npy";
    public static final String ROWSUM = "rowsum.npy";
    public static final String HVP = "hvp.npy";
    public static final String EIGENVALUES = "eigenvalues.npy";
    public static final String EIGENVECTORS = "eigenvectors.npy";
    public static final String DENSITY = "density.csv";
    public static final String LAYOUT = "layout.json";
    public static final String SUMMARY = "summary.json";
    public static final String HESSIAN_PLOT = "hessian.png";
    public static final String EIGENVALUES_PLOT = "eigenvalues.png";
    public static final String DENSITY_PLOT = "density.png";

    /** Relative residual at which Lanczos stops. */
    static final double LANCZOS_TOL = 1e-6;
    /** Lanczos steps per SLQ probe by default. */
    static final int DENSITY_STEPS = 80;
    /** Grid points of the density curve. */
    static final int DENSITY_GRID = 1000;
    /** Heap share the Lanczos bases of SLQ may take. */
    static final double BASIS_SHARE = 0.25;

    private final InspectOptions options;
    private final Path baseDir;
    private final java.util.function.BooleanSupplier stop;
    private RunDirectory.Mode claim = RunDirectory.Mode.NEW;

    /**
     * @param options the options as given (validated by {@link #run})
     * @param baseDir the directory relative data paths of a spec are resolved against
     */
    public InspectJob(InspectOptions options, Path baseDir) {
        this(options, baseDir, () -> false);
    }

    /** As {@link #InspectJob(InspectOptions, Path)}, stopping with {@link Interrupted} once {@code stop} says so. */
    public InspectJob(InspectOptions options, Path baseDir, java.util.function.BooleanSupplier stop) {
        this.options = options;
        this.baseDir = baseDir;
        this.stop = stop;
    }

    /**
     * With {@code overwrite}, an output directory that holds files is cleared first instead of
     * refused ({@code --overwrite}).
     */
    public InspectJob overwrite(boolean overwrite) {
        this.claim = overwrite ? RunDirectory.Mode.OVERWRITE : RunDirectory.Mode.NEW;
        return this;
    }

    /** Runs the inspection; user errors are {@link InspectException}s or spec exceptions. */
    public Outcome run(Progress progress) throws IOException {
        InspectOptions o = options.validate();
        long t0 = System.nanoTime();
        try (Subject s = Subject.load(o, baseDir)) {
            Points points = points(o, s);
            Network net = s.net;
            LossKind loss = o.of() == Choice.Of.LOSS ? s.spec.loss() : null;
            if (loss != null) {
                if (!points.hasTargets()) {
                    throw new InspectException("--of loss needs targets for the points, but " + points.source() + " has none: "
                            + "give a CSV with the target column(s) last, an .npz with 'y', or use --of output");
                }
                if (s.spec.isClassification()) {
                    points.checkLabels(net.outputs());
                }
            }
            if (o.wrt() == Choice.Wrt.PARAMS && loss == null && net.outputs() != 1) {
                throw new InspectException("--of output --wrt params needs a model with one output, but " + s.name()
                        + " has " + net.outputs() + ": use --of loss, or --wrt input for the Hessian of every output");
            }
            InspectRun run = new InspectRun(o, s, points, loss, progress, stop);
            run.check();
            try (RunDirectory dir = outputDir(o, s)) { // held, locked, until the summary is written
                progress.line(String.format(Locale.ROOT, "inspect-hessian %s: %s Hessian w.r.t. %s, %d point(s), into %s",
                        s.name(), loss == null ? "output" : loss + " loss", o.wrt() == Choice.Wrt.PARAMS
                                ? net.parameterCount() + " parameters" : "the " + net.inputs() + " inputs",
                        points.n(), dir.path()));
                Map<String, Object> summary = run.execute(dir.path(), (System.nanoTime() - t0) / 1e9);
                Json.write(dir.file(SUMMARY), summary);
                return new Outcome(dir.path(), summary, run.quantities, run.files);
            }
        }
    }

    private static Points points(InspectOptions o, Subject s) {
        int d = s.net.inputs();
        int t = s.spec.isClassification() ? 1 : s.net.outputs();
        Points p;
        if (o.points() != null) {
            p = Points.read(o.points(), d, t, o.of() == Choice.Of.LOSS);
        } else if (o.samples() != null) {
            p = s.samples(o.samples(), o.seed());
        } else {
            p = s.training;
        }
        if (p.d() != d) {
            throw new InspectException("points of wrong width: " + p.source() + " has " + p.d()
                    + " inputs per point but the model takes " + d);
        }
        return p;
    }

    /**
     * The output directory, claimed as a run directory is (see {@link RunDirectory#claim}): locked
     * for this process, and refused when it holds files unless {@link #overwrite} was asked for.
     */
    private RunDirectory outputDir(InspectOptions o, Subject s) {
        try {
            if (o.out() != null) {
                return RunDirectory.claim(o.out(), claim);
            }
            if (s.runDir != null) {
                return RunDirectory.claim(s.runDir.resolve(RunDirectory.INSPECT), o.wrt() + "-" + o.of(), null, claim);
            }
            return RunDirectory.claim(o.runsRoot(), "inspect-" + s.name(), null, claim);
        } catch (RunDirectory.NotEmpty e) {
            throw new InspectException("--out: " + e.getMessage() + ", or choose another --out", e);
        } catch (IOException e) {
            throw new InspectException("--out: " + e.getMessage(), e);
        }
    }
}
