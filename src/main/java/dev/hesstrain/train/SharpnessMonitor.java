package dev.hesstrain.train;

import dev.hesstrain.data.Dataset;
import dev.hesstrain.hessian.ParamCurvature;
import dev.hesstrain.hessian.Sharpness;
import dev.hesstrain.model.Network;
import dev.hesstrain.spec.MonitorSpec;
import dev.hesstrain.spec.Spec;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;
import org.apache.logging.log4j.Logger;

/**
 * The spec's {@code monitor} section on the one loop (issue 20): at the end of every {@code
 * sharpness_every}-th epoch and of the run's last, member by member, the sharpness (λ_max of the
 * Hessian of the data loss w.r.t. the parameters, {@link Sharpness}: Lanczos warm-started from the
 * member's previous top eigenvector) and every {@code hessian_trace_every}-th the exact trace of
 * that Hessian ({@link ParamCurvature}'s diagonal), on the member's first {@code samples} training
 * points and its weights at the end of the epoch (those a checkpoint then writes). Each
 * measurement's cost goes to the member's log.
 *
 * <p>It comes before the listeners that write rows: they read the epoch's values with {@link #reading}.
 */
public final class SharpnessMonitor implements TrainingListener {
    /**
     * The relative residual ‖H v − λ v‖ / |λ| at which a measurement stops: the eigenvalue's error
     * is about the residual squared over the spectral gap, so the column holds λ_max to about 1e-8
     * relative (the default 1e-3 of {@link Sharpness} gives only about 1e-6).
     */
    public static final double TOLERANCE = 1e-4;

    /** An epoch's monitored values, NaN where not measured. */
    public record Reading(double sharpness, double hessianTrace) {
        public static final Reading NONE = new Reading(Double.NaN, Double.NaN);
    }

    private final List<Spec> specs;
    private final List<Dataset> train;
    private final Network into;
    private final IntFunction<Logger> logs;
    private final Sharpness[] sharpness;
    private final Reading[] current;
    private final int[] at;
    private final double[] lastSharpness;
    private final double[] lastTrace;
    private boolean traceRefusedLogged;

    /**
     * @param specs the members' specs (a plain run: one)
     * @param train each member's training set
     * @param into the network measured: a plain run's own (it holds the live weights), or for a
     *     stacked group a spare one of the members' structure, which receives each member's current
     *     weights before its measurement
     * @param logs member i's logger
     */
    public SharpnessMonitor(List<Spec> specs, List<Dataset> train, Network into, IntFunction<Logger> logs) {
        this.specs = List.copyOf(specs);
        this.train = List.copyOf(train);
        this.into = into;
        this.logs = logs;
        int r = specs.size();
        this.sharpness = new Sharpness[r];
        for (int i = 0; i < r; i++) {
            sharpness[i] = new Sharpness(TOLERANCE, Sharpness.DEFAULT_MAX_STEPS, specs.get(i).seed());
        }
        this.current = new Reading[r];
        Arrays.fill(current, Reading.NONE);
        this.at = new int[r];
        this.lastSharpness = new double[r];
        this.lastTrace = new double[r];
        Arrays.fill(lastSharpness, Double.NaN);
        Arrays.fill(lastTrace, Double.NaN);
    }

    /** Whether any member's spec has a {@code monitor} section. */
    public static boolean wanted(List<Spec> specs) {
        return specs.stream().anyMatch(s -> s.monitor() != null);
    }

    @Override
    public void onEpoch(Trainer.Loop loop, int member, EpochMetrics metrics) {
        MonitorSpec mon = specs.get(member).monitor();
        current[member] = Reading.NONE;
        if (mon == null) {
            return;
        }
        int e = metrics.epoch();
        int epochs = loop.epochs();
        // a run stopped early (not interrupted) ends with a measurement, as the last epoch does
        boolean end = loop.stopping() && loop.reason() != StopReason.INTERRUPTED;
        boolean s = mon.sharpnessAt(e, epochs) || end && mon.sharpnessEvery() != null;
        boolean t = mon.hessianTraceAt(e, epochs) || end && mon.hessianTraceEvery() != null;
        if (!s && !t) {
            return;
        }
        Spec spec = specs.get(member);
        Dataset d = train.get(member);
        int m = mon.points(d.n());
        double[] x = Arrays.copyOf(d.x(), m * d.d());
        double[] y = Arrays.copyOf(d.y(), m * d.o());
        loop.copyWeights(member, into);
        Logger log = logs.apply(member);
        double value = Double.NaN;
        double trace = Double.NaN;
        if (s) {
            Sharpness.Measurement r;
            try {
                r = sharpness[member].measure(into, x, m, y, spec.loss());
            } catch (RuntimeException ex) { // weights gone non-finite: the loop stops the member next; the run goes on
                log.warn("epoch {}: no sharpness: {}", e, ex.getMessage());
                current[member] = Reading.NONE;
                return;
            }
            value = r.value();
            lastSharpness[member] = value;
            log.info("epoch {}: sharpness {} on {} points ({} Lanczos iterations, {} HVPs, {} s, residual {}{}{})", e,
                    value, m, r.iterations(), r.hvps(), String.format("%.3f", r.seconds()), r.residual(),
                    r.warm() ? ", warm start" : "", r.converged() ? "" : ", NOT converged");
        }
        if (t) {
            String refused = ParamCurvature.refusal(into, spec.loss());
            if (refused == null) {
                long t0 = System.nanoTime();
                try (ParamCurvature pc = new ParamCurvature(into, x, m, y, spec.loss(), 0, 0)) {
                    trace = Arrays.stream(pc.diagonals(true, false).hessian()).sum();
                }
                lastTrace[member] = trace;
                log.info("epoch {}: hessian_trace {} on {} points ({} s)", e, trace, m,
                        String.format("%.3f", (System.nanoTime() - t0) / 1e9));
            } else if (!traceRefusedLogged) {
                traceRefusedLogged = true;
                log.warn("hessian_trace is left empty: {}", refused);
            }
        }
        current[member] = new Reading(value, trace);
        at[member] = e;
    }

    /** Member {@code member}'s values of {@code epoch} (NONE where not measured). */
    public Reading reading(int member, int epoch) {
        return at[member] == epoch ? current[member] : Reading.NONE;
    }

    /** Member {@code member}'s last sharpness measured (NaN: none). */
    public double lastSharpness(int member) {
        return lastSharpness[member];
    }

    /** Member {@code member}'s last Hessian trace measured (NaN: none). */
    public double lastTrace(int member) {
        return lastTrace[member];
    }
}
