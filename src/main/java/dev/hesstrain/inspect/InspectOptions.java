package dev.hesstrain.inspect;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;

/**
 * What to inspect, as the command line gives it. {@link #validate()} checks the combination and
 * fills in defaults; every failure is an {@link InspectException} naming the option.
 *
 * @param run a run directory (its spec.yaml, model.safetensors and data.npz), or null
 * @param config a spec file, or null (exactly one of run and config)
 * @param weights safetensors weights under PyTorch names, or null (the run's, or the spec's seeded initialisation)
 * @param overrides spec overrides, as {@code train --set}
 * @param points a .csv, .npy or .npz file of points, or null (the training split)
 * @param samples points drawn from the spec's generator, or null
 * @param of {@code output} or {@code loss}; null for output w.r.t. the input and loss w.r.t. the parameters
 * @param wrt {@code input} or {@code params}
 * @param quantities what to compute: full, diag, rowsum, hvp, trace, eigs, density
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
 */
public record InspectOptions(
        Path run,
        Path config,
        Path weights,
        List<String> overrides,
        Path points,
        Integer samples,
        String of,
        String wrt,
        List<String> quantities,
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
        Integer threads) {

    /** Without {@code threads}: as many workers as cores. */
    public InspectOptions(Path run, Path config, Path weights, List<String> overrides, Path points, Integer samples,
            String of, String wrt, List<String> quantities, Path vector, int probes, long seed, int k, boolean eigenvectors,
            Integer steps, Integer rows, Path out, Path runsRoot, Integer hvpBatch) {
        this(run, config, weights, overrides, points, samples, of, wrt, quantities, vector, probes, seed, k, eigenvectors,
                steps, rows, out, runsRoot, hvpBatch, null);
    }

    public static final List<String> QUANTITIES = List.of("full", "diag", "rowsum", "hvp", "trace", "eigs", "density");

    /** The defaults, for a spec or a run given later with {@code with...}. */
    public static InspectOptions defaults() {
        return new InspectOptions(null, null, null, List.of(), null, null, "loss", "params", List.of("full"), null, 100,
                0L, 6, false, null, null, null, Path.of("runs"), null);
    }

    /** Checks the options and returns them normalised (lower case, quantities deduplicated). */
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
        String w = oneOf("--wrt", wrt, List.of("input", "params"));
        String o = of == null ? (w.equals("input") ? "output" : "loss") : oneOf("--of", of, List.of("output", "loss"));
        LinkedHashSet<String> qs = new LinkedHashSet<>();
        for (String q : quantities) {
            for (String part : q.split(",")) {
                String p = part.trim().toLowerCase(Locale.ROOT);
                if (p.isEmpty()) {
                    continue;
                }
                if (!QUANTITIES.contains(p)) {
                    throw new InspectException("--quantity: unknown quantity '" + part.trim() + "'; expected a comma list of "
                            + String.join(", ", QUANTITIES));
                }
                qs.add(p);
            }
        }
        if (qs.isEmpty()) {
            throw new InspectException("--quantity: name at least one of " + String.join(", ", QUANTITIES));
        }
        if (qs.contains("hvp") && vector == null) {
            throw new InspectException("--quantity hvp needs --vector FILE.npy (the vector v of H·v)");
        }
        if (vector != null && !qs.contains("hvp")) {
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
            if (!w.equals("params") || !qs.contains("full")) {
                throw new InspectException("--rows applies to --wrt params --quantity full only");
            }
        }
        if (eigenvectors && !qs.contains("eigs")) {
            throw new InspectException("--eigenvectors is only used by --quantity eigs");
        }
        return new InspectOptions(run, config, weights, overrides == null ? List.of() : List.copyOf(overrides), points,
                samples, o, w, List.copyOf(new ArrayList<>(qs)), vector, probes, seed, k, eigenvectors, steps, rows, out,
                runsRoot == null ? Path.of("runs") : runsRoot, hvpBatch,
                threads == null ? Runtime.getRuntime().availableProcessors() : threads);
    }

    private static String oneOf(String option, String value, List<String> allowed) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        if (!allowed.contains(v)) {
            throw new InspectException(option + ": unknown value '" + value + "'; expected one of " + String.join(", ", allowed));
        }
        return v;
    }

    public boolean wants(String quantity) {
        return quantities.contains(quantity);
    }
}
