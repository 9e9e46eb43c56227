package dev.hesstrain.inspect;

import dev.hesstrain.inspect.Choice.Matrix;
import dev.hesstrain.inspect.Choice.Method;
import dev.hesstrain.inspect.Choice.Of;
import dev.hesstrain.inspect.Choice.Quantity;
import dev.hesstrain.inspect.Choice.Wrt;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * What to inspect. Built by {@link #builder()}, which holds every default (the command line sets
 * only what it was given); {@link #validate()} checks the combination and fills in the defaults
 * that depend on it. Every failure is an {@link InspectException} naming the option.
 *
 * @param run a run directory (its spec.yaml, model.safetensors and data.npz), or null
 * @param config a spec file, or null (exactly one of run and config)
 * @param weights safetensors weights under PyTorch names, or null (the run's, or the spec's seeded initialisation)
 * @param overrides spec overrides, as {@code train --set}
 * @param points a .csv, .npy or .npz file of points, or null (the training split)
 * @param samples points drawn from the spec's generator, or null
 * @param of the output or the loss; null for output w.r.t. the input and loss w.r.t. the parameters
 * @param wrt the input or all parameters
 * @param quantities what to compute; empty for the default of {@code wrt} ({@link #defaultQuantities})
 * @param vector the vector of {@code hvp}, a .npy file
 * @param probes Hutchinson probes for trace, and SLQ probes for density
 * @param seed the seed of probe vectors, Lanczos start vectors and --samples
 * @param k how many eigenvalues eigs reports
 * @param eigenvectors whether eigs writes its eigenvectors
 * @param steps Lanczos steps: the most for eigs, the number per probe for density; null for defaults
 * @param rows only the first rows of the full parameter Hessian (a benchmarking aid), or null
 * @param out the output directory, or null for the default
 * @param runsRoot where spec inspections go by default
 * @param hvpBatch Hessian-vector products per backward pass, or null for automatic
 * @param threads workers that compute the rows of full and diag in parallel, or null for the cores
 * @param curvature the matrix w.r.t. the parameters: the Hessian, the GGN or the Monte Carlo Fisher
 * @param method how the parameter diagonal is computed: by the curvature backpropagation pass or from every row
 * @param samplesPerPoint sampled labels per point of the Monte Carlo Fisher
 * @param repeat benchmarking aid: the curvature pass of diag runs this many times (seconds_min is reported)
 * @param probesGiven whether --probes was given: the Hutchinson estimate of the trace is then computed beside an
 *     exact trace
 */
public record InspectOptions(
        Path run,
        Path config,
        Path weights,
        List<String> overrides,
        Path points,
        Integer samples,
        Of of,
        Wrt wrt,
        Set<Quantity> quantities,
        Path vector,
        int probes,
        long seed,
        int k,
        boolean eigenvectors,
        Integer steps,
        Integer rows,
        Path out,
        Path runsRoot,
        Integer hvpBatch,
        Integer threads,
        Matrix curvature,
        Method method,
        int samplesPerPoint,
        int repeat,
        boolean probesGiven) {

    public static final String DEFAULT_WRT = "params";
    public static final int DEFAULT_PROBES = 100;
    public static final long DEFAULT_SEED = 0;
    public static final int DEFAULT_K = 6;
    public static final int DEFAULT_SAMPLES_PER_POINT = 1;
    public static final String DEFAULT_RUNS = "runs";
    /** The default quantities, as the help text says them. */
    public static final String DEFAULT_QUANTITIES = "full for --wrt input; diag,trace for --wrt params";

    public InspectOptions {
        overrides = overrides == null ? List.of() : List.copyOf(overrides);
        quantities = quantities == null || quantities.isEmpty() ? Set.of()
                : java.util.Collections.unmodifiableSet(EnumSet.copyOf(quantities));
    }

    /** The quantities when none are named: the Hessians themselves for the input (d x d per point), and
     * the diagonal and trace for the parameters (P products, never the P x P matrix: 2.2 GB for conv12). */
    public static Set<Quantity> defaultQuantities(Wrt wrt) {
        return wrt == Wrt.INPUT ? EnumSet.of(Quantity.FULL) : EnumSet.of(Quantity.DIAG, Quantity.TRACE);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder with every default; the setters take what was given (null leaves the default). */
    public static final class Builder {
        private Path run;
        private Path config;
        private Path weights;
        private List<String> overrides = List.of();
        private Path points;
        private Integer samples;
        private Of of;
        private Wrt wrt = Wrt.parse(DEFAULT_WRT);
        private Set<Quantity> quantities = Set.of();
        private Path vector;
        private int probes = DEFAULT_PROBES;
        private long seed = DEFAULT_SEED;
        private int k = DEFAULT_K;
        private boolean eigenvectors;
        private Integer steps;
        private Integer rows;
        private Path out;
        private Path runsRoot = Path.of(DEFAULT_RUNS);
        private Integer hvpBatch;
        private Integer threads;
        private Matrix curvature = Matrix.HESSIAN;
        private Method method = Method.BACKPROP;
        private int samplesPerPoint = DEFAULT_SAMPLES_PER_POINT;
        private int repeat = 1;
        private boolean probesGiven;

        private Builder() {}

        public Builder run(Path v) { run = v; return this; }
        public Builder config(Path v) { config = v; return this; }
        public Builder weights(Path v) { weights = v; return this; }
        public Builder overrides(List<String> v) { if (v != null) overrides = v; return this; }
        public Builder points(Path v) { points = v; return this; }
        public Builder samples(Integer v) { samples = v; return this; }
        public Builder of(Of v) { of = v; return this; }
        public Builder wrt(Wrt v) { if (v != null) wrt = v; return this; }
        public Builder quantities(Set<Quantity> v) { if (v != null) quantities = v; return this; }
        public Builder quantities(Quantity... v) { return quantities(Set.of(v)); }
        public Builder vector(Path v) { vector = v; return this; }
        public Builder probes(Integer v) { if (v != null) { probes = v; probesGiven = true; } return this; }
        public Builder seed(Long v) { if (v != null) seed = v; return this; }
        public Builder k(Integer v) { if (v != null) k = v; return this; }
        public Builder eigenvectors(boolean v) { eigenvectors = v; return this; }
        public Builder steps(Integer v) { steps = v; return this; }
        public Builder rows(Integer v) { rows = v; return this; }
        public Builder out(Path v) { out = v; return this; }
        public Builder runsRoot(Path v) { if (v != null) runsRoot = v; return this; }
        public Builder hvpBatch(Integer v) { hvpBatch = v; return this; }
        public Builder threads(Integer v) { threads = v; return this; }
        public Builder curvature(Matrix v) { if (v != null) curvature = v; return this; }
        public Builder method(Method v) { if (v != null) method = v; return this; }
        public Builder samplesPerPoint(Integer v) { if (v != null) samplesPerPoint = v; return this; }
        public Builder repeat(Integer v) { if (v != null) repeat = v; return this; }
        private Builder probesGiven(boolean v) { probesGiven = v; return this; }

        public InspectOptions build() {
            return new InspectOptions(run, config, weights, overrides, points, samples, of, wrt, quantities, vector, probes,
                    seed, k, eigenvectors, steps, rows, out, runsRoot, hvpBatch, threads, curvature, method, samplesPerPoint,
                    repeat, probesGiven);
        }
    }

    /** A builder holding these options, to change some of them. */
    public Builder toBuilder() {
        return builder().run(run).config(config).weights(weights).overrides(overrides).points(points).samples(samples)
                .of(of).wrt(wrt).quantities(quantities).vector(vector).probes(probes).seed(seed).k(k)
                .eigenvectors(eigenvectors).steps(steps).rows(rows).out(out).runsRoot(runsRoot).hvpBatch(hvpBatch)
                .threads(threads).curvature(curvature).method(method).samplesPerPoint(samplesPerPoint)
                .repeat(repeat).probesGiven(probesGiven);
    }

    /** Checks the options and returns them with the defaults that depend on them filled in. */
    public InspectOptions validate() {
        if ((run == null) == (config == null)) {
            throw new InspectException("give exactly one of --run DIR and --config SPEC");
        }
        if (points != null && samples != null) {
            throw new InspectException("give at most one of --points FILE and --samples N");
        }
        if (samples != null && samples < 1) {
            throw new InspectException("--samples must be positive, found " + samples);
        }
        Of o = of != null ? of : wrt == Wrt.INPUT ? Of.OUTPUT : Of.LOSS;
        Set<Quantity> qs = quantities.isEmpty() ? defaultQuantities(wrt) : quantities;
        if (qs.contains(Quantity.HVP) && vector == null) {
            throw new InspectException("--quantity hvp needs --vector FILE.npy (the vector v of H·v)");
        }
        if (vector != null && !qs.contains(Quantity.HVP)) {
            throw new InspectException("--vector is only used by --quantity hvp");
        }
        if (probes < 1) {
            throw new InspectException("--probes must be positive, found " + probes);
        }
        if (k < 1) {
            throw new InspectException("--k must be positive, found " + k);
        }
        if (steps != null && steps < 1) {
            throw new InspectException("--steps must be positive, found " + steps);
        }
        if (hvpBatch != null && hvpBatch < 1) {
            throw new InspectException("--hvp-batch must be positive, found " + hvpBatch);
        }
        if (threads != null && threads < 1) {
            throw new InspectException("--threads must be at least 1, found " + threads);
        }
        if (rows != null) {
            if (rows < 1) {
                throw new InspectException("--rows must be positive, found " + rows);
            }
            if (wrt != Wrt.PARAMS || !qs.contains(Quantity.FULL)) {
                throw new InspectException("--rows applies to --wrt params --quantity full only");
            }
        }
        if (curvature != Matrix.HESSIAN && (wrt != Wrt.PARAMS || o != Of.LOSS)) {
            throw new InspectException("--curvature " + curvature + " applies to --wrt params --of loss only");
        }
        if (method != Method.BACKPROP && wrt != Wrt.PARAMS) {
            throw new InspectException("--method applies to --wrt params only");
        }
        if (repeat < 1) {
            throw new InspectException("--repeat must be positive, found " + repeat);
        }
        if (samplesPerPoint < 1) {
            throw new InspectException("--samples-per-point must be positive, found " + samplesPerPoint);
        }
        if (samplesPerPoint != DEFAULT_SAMPLES_PER_POINT && curvature != Matrix.FISHER) {
            throw new InspectException("--samples-per-point is only used by --curvature fisher");
        }
        if (steps != null && steps < k && wrt == Wrt.PARAMS && qs.contains(Quantity.EIGS)) {
            throw new InspectException("--steps " + steps + " is fewer than --k " + k + ": Lanczos takes at least k steps"
                    + " to give k eigenvalues at each end; give --steps " + k + " or more, or --k " + steps);
        }
        if (eigenvectors && !qs.contains(Quantity.EIGS)) {
            throw new InspectException("--eigenvectors is only used by --quantity eigs");
        }
        return toBuilder().of(o).quantities(qs)
                .threads(threads == null ? Runtime.getRuntime().availableProcessors() : threads).build();
    }

    public boolean wants(Quantity quantity) {
        return quantities.contains(quantity);
    }
}
