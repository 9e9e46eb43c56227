package dev.hesstrain.train;

import dev.hesstrain.data.Dataset;
import dev.hesstrain.hessian.ParamCurvature;
import dev.hesstrain.hessian.Sharpness;
import dev.hesstrain.model.Network;
import dev.hesstrain.spec.MonitorSpec;
import dev.hesstrain.spec.Spec;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.hesstrain.model.Scopes;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
 * <p>It wraps the listener that writes the rows and calls it in every hook after its own work: the
 * row reads the epoch's values with {@link #reading}. Measurements run on a thread of their own
 * where a core is free ({@link #backgroundByDefault}), each on a copy of its epoch's weights, while
 * training goes on; a row then waits (with the rows after it) until its epoch's reading is in, and
 * every held row is handed on before a checkpoint and at the end.
 */
public final class SharpnessMonitor implements TrainingListener {
    /**
     * The relative residual ‖H v − λ v‖ / |λ| at which a measurement stops ({@link
     * Sharpness#DEFAULT_TOLERANCE}, 1e-3): the eigenvalue's error is about the residual squared over
     * the spectral gap, so the column holds λ_max to about 1e-6 relative, the precision of float32
     * products. 1e-4 took 4.4 warm passes on sin2pi's 200 epochs against 3.35, and moved no value by
     * more than 1.1e-6 relative.
     */
    public static final double TOLERANCE = Sharpness.DEFAULT_TOLERANCE;

    /** An epoch's monitored values, NaN where not measured. */
    public record Reading(double sharpness, double hessianTrace) {
        public static final Reading NONE = new Reading(Double.NaN, Double.NaN);
    }

    /**
     * Whether measurements run on a thread of their own: where PyTorch runs on fewer threads than
     * there are cores (the default: one intra-op thread), so that a core is idle while training
     * runs; the environment's {@code HESSTRAIN_SHARPNESS_THREAD=0} (or 1), or the system property
     * {@code hesstrain.sharpness.thread}, overrides it.
     */
    public static boolean backgroundByDefault() {
        String env = System.getProperty("hesstrain.sharpness.thread", System.getenv("HESSTRAIN_SHARPNESS_THREAD"));
        if (env != null && !env.isBlank()) {
            return !env.trim().equals("0");
        }
        return dev.hesstrain.model.Torch.threads() < Runtime.getRuntime().availableProcessors();
    }

    /** One measurement's outcome: the reading and its log lines (written when its row is; null: none). */
    private record Outcome(Reading reading, String info, String warning) {}

    /** A row held back until the reading of its epoch is in (null: nothing measured). */
    private record Row(Trainer.Loop loop, int member, EpochMetrics metrics, Future<Outcome> outcome) {}

    private final List<Spec> specs;
    private final List<Dataset> train;
    private final Network into;
    private final Network worker;
    private final TrainingListener rows;
    private final IntFunction<Logger> logs;
    private final Sharpness[] sharpness;
    private final Reading[] current;
    private final int[] at;
    private final double[] lastSharpness;
    private final double[] lastTrace;
    private final ArrayDeque<Row> held = new ArrayDeque<>();
    private ExecutorService thread;
    private boolean traceRefusedLogged;

    /**
     * Measures on the loop's thread, before the rows: {@code rows} (the listener that writes them,
     * called in every hook after this one) gets each epoch's row at once.
     *
     * @param specs the members' specs (a plain run: one)
     * @param train each member's training set
     * @param into the network measured: a plain run's own (it holds the live weights), or for a
     *     stacked group a spare one of the members' structure, which receives each member's current
     *     weights before its measurement
     * @param logs member i's logger
     */
    public SharpnessMonitor(List<Spec> specs, List<Dataset> train, Network into, TrainingListener rows,
            IntFunction<Logger> logs) {
        this(specs, train, into, null, rows, logs);
    }

    /**
     * With {@code worker} non-null, each measurement runs on a thread of its own while training
     * goes on, on {@code worker}, a network of the members' structure that receives a copy of the
     * member's weights at the end of the epoch (taken through {@code into} on the loop's thread);
     * the row of that epoch, and every row after it, reaches {@code rows} once the reading is in
     * (at the latest at the next checkpoint and at the end), in the loop's order. The measurements
     * run one after another in the loop's order, each on its epoch's weights, so the values are
     * those of measuring on the loop's thread (models the curvature pass refuses are measured there).
     */
    public SharpnessMonitor(List<Spec> specs, List<Dataset> train, Network into, Network worker, TrainingListener rows,
            IntFunction<Logger> logs) {
        this.specs = List.copyOf(specs);
        this.train = List.copyOf(train);
        this.into = into;
        this.worker = worker;
        this.rows = rows;
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
    public void onTrainingBegin(Trainer.Loop loop) {
        rows.onTrainingBegin(loop);
    }

    @Override
    public void onStepEnd(Trainer.Loop loop) {
        rows.onStepEnd(loop);
    }

    @Override
    public void onEpoch(Trainer.Loop loop, int member, EpochMetrics metrics) {
        held.add(new Row(loop, member, metrics, measure(loop, member, metrics)));
        deliver(false);
    }

    @Override
    public void onCheckpoint(Trainer.Loop loop, int epoch, List<Integer> members) {
        deliver(true); // the rows up to a checkpoint are in metrics.csv before it is written
        rows.onCheckpoint(loop, epoch, members);
    }

    @Override
    public void onDiverged(Trainer.Loop loop, int member, int epoch, int lastGood) {
        rows.onDiverged(loop, member, epoch, lastGood);
    }

    @Override
    public void onTrainingEnd(Trainer.Loop loop) {
        try {
            deliver(true);
        } finally {
            if (thread != null) {
                thread.shutdownNow();
                thread = null;
            }
        }
        rows.onTrainingEnd(loop);
    }

    /** Hands the held rows on in order, each once its reading is in; with {@code all}, waits for them. */
    private void deliver(boolean all) {
        while (!held.isEmpty()) {
            Row row = held.peek();
            if (row.outcome() != null && !all && !row.outcome().isDone()) {
                return;
            }
            held.poll();
            int member = row.member();
            current[member] = Reading.NONE;
            if (row.outcome() != null) {
                Outcome o;
                try {
                    o = row.outcome().get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for a sharpness measurement", e);
                } catch (ExecutionException e) {
                    throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
                }
                Logger log = logs.apply(member);
                if (o.info() != null) {
                    o.info().lines().forEach(log::info);
                }
                if (o.warning() != null) {
                    log.warn(o.warning());
                }
                Reading r = o.reading();
                if (!Double.isNaN(r.sharpness())) {
                    lastSharpness[member] = r.sharpness();
                }
                if (!Double.isNaN(r.hessianTrace())) {
                    lastTrace[member] = r.hessianTrace();
                }
                current[member] = r;
                at[member] = row.metrics().epoch();
            }
            rows.onEpoch(row.loop(), member, row.metrics());
        }
    }

    /** The measurement of this epoch, started (on the worker's thread) or done; null when none is due. */
    private Future<Outcome> measure(Trainer.Loop loop, int member, EpochMetrics metrics) {
        MonitorSpec mon = specs.get(member).monitor();
        if (mon == null) {
            return null;
        }
        int e = metrics.epoch();
        int epochs = loop.epochs();
        // a run stopped early (not interrupted) ends with a measurement, as the last epoch does
        boolean end = loop.stopping() && loop.reason() != StopReason.INTERRUPTED;
        boolean s = mon.sharpnessAt(e, epochs) || end && mon.sharpnessEvery() != null;
        boolean t = mon.hessianTraceAt(e, epochs) || end && mon.hessianTraceEvery() != null;
        if (!s && !t) {
            return null;
        }
        Spec spec = specs.get(member);
        Dataset d = train.get(member);
        int m = mon.points(d.n());
        double[] x = Arrays.copyOf(d.x(), m * d.d());
        double[] y = Arrays.copyOf(d.y(), m * d.o());
        loop.copyWeights(member, into);
        String refused = ParamCurvature.refusal(into, spec.loss());
        boolean traceRefused = t && refused != null && !traceRefusedLogged;
        traceRefusedLogged |= traceRefused;
        if (worker == null || refused != null) {
            CompletableFuture<Outcome> done = new CompletableFuture<>();
            done.complete(measure(into, member, e, s, t, x, m, y, refused, traceRefused));
            return done;
        }
        double[] weights;
        try (NDManager step = into.manager().newSubManager()) {
            NDArray w = into.flatParameters();
            Scopes.tempAttach(step, w);
            weights = w.toType(DataType.FLOAT64, false).toDoubleArray();
        }
        if (thread == null) {
            int threads = dev.hesstrain.model.Torch.threads();
            thread = Executors.newSingleThreadExecutor(run -> {
                Thread th = new Thread(() -> {
                    dev.hesstrain.model.Torch.setThreads(threads); // the loop's intra-op threads, on this thread too
                    run.run();
                }, "sharpness");
                th.setDaemon(true);
                return th;
            });
        }
        return thread.submit(() -> {
            try (NDManager step = worker.manager().newSubManager()) {
                NDArray w = worker.flatParameters();
                Scopes.tempAttach(step, w);
                w.set(new NDIndex(":"), step.create(weights).toType(w.getDataType(), false));
            }
            return measure(worker, member, e, s, t, x, m, y, null, false);
        });
    }

    /** Measures on {@code net} as it is (the weights of epoch {@code e}). */
    private Outcome measure(Network net, int member, int e, boolean s, boolean t, double[] x, int m, double[] y,
            String refused, boolean traceRefused) {
        Spec spec = specs.get(member);
        double value = Double.NaN;
        double trace = Double.NaN;
        StringBuilder lines = new StringBuilder();
        if (s) {
            Sharpness.Measurement r;
            try {
                r = sharpness[member].measure(net, x, m, y, spec.loss());
            } catch (RuntimeException ex) { // weights gone non-finite: the loop stops the member next; the run goes on
                return new Outcome(Reading.NONE, null, "epoch " + e + ": no sharpness: " + ex.getMessage());
            }
            value = r.value();
            lines.append(String.format("epoch %d: sharpness %s on %d points (%d Krylov passes, %d HVPs, %.3f s, residual %s%s%s)",
                    e, value, m, r.iterations(), r.hvps(), r.seconds(), r.residual(), r.warm() ? ", warm start" : "",
                    r.converged() ? "" : ", NOT converged"));
        }
        if (t) {
            if (refused == null) {
                long t0 = System.nanoTime();
                try (ParamCurvature pc = new ParamCurvature(net, x, m, y, spec.loss(), 0, 0)) {
                    trace = Arrays.stream(pc.diagonals(true, false).hessian()).sum();
                }
                lines.append(lines.length() > 0 ? "\n" : "").append(String.format("epoch %d: hessian_trace %s on %d points (%.3f s)",
                        e, trace, m, (System.nanoTime() - t0) / 1e9));
            } else if (traceRefused) {
                return new Outcome(new Reading(value, trace), lines.toString(), "hessian_trace is left empty: " + refused);
            }
        }
        return new Outcome(new Reading(value, trace), lines.toString(), null);
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
