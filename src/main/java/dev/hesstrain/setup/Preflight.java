package dev.hesstrain.setup;

import dev.hesstrain.spec.LayerSpec;
import dev.hesstrain.spec.LayerType;
import dev.hesstrain.spec.OptimizerKind;
import dev.hesstrain.spec.PenaltyMethod;
import dev.hesstrain.spec.Spec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The size preflight of a training run: before anything is allocated, the bytes its parameters
 * (with gradients and optimizer state), its data and its largest per-step arrays will take,
 * against the JVM's free heap (host arrays: the data as Java arrays, the weight snapshots) and
 * the machine's free memory ({@code MemAvailable} in /proc/meminfo: PyTorch's native arrays). A
 * run that will not fit is refused with the numbers and the change that would fit (a smaller
 * {@code train.batch_size}, {@code penalty.method: hutchinson}, fewer samples).
 *
 * <p>The figures are a model of what the code holds at once (see {@link #stepBytesPerRow}), good
 * to a small factor, not a measurement: the check refuses only a run whose estimate exceeds what
 * is free, so the runs it refuses are those that would certainly fail or swap, and suggestions
 * aim at 80% of what is free.
 */
public final class Preflight {
    /** Native bytes of the per-epoch evaluation passes, which run in chunks of about 2^21 numbers (Trainer). */
    static final long EVAL_BYTES = 64L << 20;
    /** Arrays that autograd keeps per array of a pass (its value, what the op saves, its gradient). */
    static final int AUTOGRAD_COPIES = 3;
    /**
     * Arrays of the carried part's size that one layer of the curvature pass holds beside it: a
     * dense linear step makes H W, the broadcast Wᵀ and their product, the change to dense the
     * transposed columns and the matrices; 5 matched the wide 50-768-768-512-512-1 net on 16
     * points (151-229 MB measured above the same command with the GGN, 227 MB estimated).
     */
    static final int PASS_TEMPORARIES = 5;
    /** The share of free memory a suggested change aims at. */
    static final double AIM = 0.8;

    private Preflight() {}

    /** Free memory: the JVM's heap left to grow into, and the machine's; -1 where unknown. */
    public record Memory(long heapFree, long nativeFree) {
        /** This JVM's and this machine's. */
        public static Memory here() {
            Runtime rt = Runtime.getRuntime();
            long heap = rt.maxMemory() == Long.MAX_VALUE ? -1 : rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
            return new Memory(heap, memAvailable(Path.of("/proc/meminfo")));
        }

        /** {@code MemAvailable} of a /proc/meminfo file in bytes, -1 if it cannot be read. */
        static long memAvailable(Path meminfo) {
            try {
                for (String line : Files.readAllLines(meminfo)) {
                    if (line.startsWith("MemAvailable:")) {
                        String[] f = line.substring("MemAvailable:".length()).trim().split("\\s+");
                        return Long.parseLong(f[0]) * 1024;
                    }
                }
            } catch (IOException | RuntimeException e) {
                // not Linux, or no permission: unknown
            }
            return -1;
        }
    }

    /** What a run will hold, in bytes, with the figures it is made of. */
    public record Estimate(long parameters, long parameterBytes, long heapBytes, long dataNativeBytes,
            long stepBytesPerRow, int batch, String pass) {
        /** Native bytes in all: parameters with their state, the data, one step of {@code batch} rows, the evaluations. */
        public long nativeBytes() {
            return parameterBytes + dataNativeBytes + stepBytesPerRow * batch + EVAL_BYTES;
        }
    }

    /** A run refused because it will not fit; the message has the numbers and what would fit. */
    public static final class TooLarge extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TooLarge(String message) {
            super(message);
        }
    }

    /**
     * Checks a generated dataset of the spec before it is generated: {@code n} rows of d inputs
     * and one target as float64 Java arrays, twice (generated, then split), against the heap.
     */
    public static void checkGenerated(Spec spec, Memory mem) {
        if (spec.data().generator() == null || spec.data().samples() == null || spec.data().inputs() == null) {
            return;
        }
        long n = spec.data().samples();
        int d = spec.data().inputs();
        checkData(n, d, 1, "data.samples", mem);
    }

    private static void checkData(long n, int d, int o, String field, Memory mem) {
        long values = n * (d + o);
        if (n * d > Integer.MAX_VALUE - 8) {
            throw new TooLarge("the data will not fit: " + n + " samples of " + d + " inputs are " + n * d
                    + " numbers, more than a Java array holds (" + (Integer.MAX_VALUE - 8) + "); at most "
                    + (Integer.MAX_VALUE - 8) / d + " samples (" + field + ")");
        }
        long heap = dataHostBytes(n, d, o);
        if (mem.heapFree() >= 0 && heap > mem.heapFree()) {
            long fit = (long) (AIM * mem.heapFree() / (2.0 * Double.BYTES * (d + o)));
            throw new TooLarge("the data will not fit in the JVM's heap: " + n + " samples of " + d + " inputs and " + o
                    + " target(s) are " + values + " float64 numbers, held twice (as read, and split), "
                    + bytes(heap) + ", but the heap has " + bytes(mem.heapFree()) + " free. Use at most " + fit
                    + " samples (" + field + "), or give the JVM more heap (HESSTRAIN_JAVA_OPTS=-Xmx...)");
        }
    }

    /**
     * Checks the run against free memory, once its data are loaded and before its network is
     * built: {@code nTrain} training rows of {@code d} inputs and {@code o} target columns
     * ({@code n} rows in all).
     *
     * @throws TooLarge with the numbers and what would fit
     */
    public static void check(Spec spec, long n, long nTrain, int d, int o, Memory mem) {
        checkData(n, d, o, "data.samples", mem);
        Estimate e = estimate(spec, n, nTrain, d, o);
        if (mem.heapFree() >= 0 && e.heapBytes() > mem.heapFree()) {
            throw new TooLarge("the run will not fit in the JVM's heap: the data and a float64 copy of the "
                    + e.parameters() + " parameters (the divergence snapshot) take " + bytes(e.heapBytes())
                    + ", but the heap has " + bytes(mem.heapFree()) + " free; give the JVM more heap "
                    + "(HESSTRAIN_JAVA_OPTS=-Xmx...) or make the model smaller");
        }
        long free = mem.nativeFree();
        if (free < 0 || e.nativeBytes() <= free) {
            return;
        }
        StringBuilder m = new StringBuilder(String.format(Locale.ROOT,
                "the run will not fit in memory: it needs about %s (the %d parameters with their gradients and %s "
                        + "state %s; the data %s; one training step of %d rows with %s %s) but %s are free "
                        + "(MemAvailable).",
                bytes(e.nativeBytes()), e.parameters(), spec.train().optimizer().id(), bytes(e.parameterBytes()),
                bytes(e.dataNativeBytes()), e.batch(), e.pass(), bytes(e.stepBytesPerRow() * e.batch()), bytes(free)));
        long fixed = e.parameterBytes() + e.dataNativeBytes() + EVAL_BYTES;
        List<String> fits = new ArrayList<>();
        long rows = (long) ((AIM * free - fixed) / e.stepBytesPerRow());
        if (rows >= 1) {
            fits.add("a batch of at most " + rows + " rows (--set train.batch_size=" + rows + ")");
        }
        if (spec.penalty().active() && spec.penalty().method() == PenaltyMethod.EXACT) {
            long perRow = stepBytesPerRow(spec, d, o, PenaltyMethod.HUTCHINSON, 1);
            if (fixed + perRow * e.batch() <= AIM * free) {
                fits.add("penalty.method: hutchinson (about " + bytes(fixed + perRow * e.batch()) + " at " + e.batch()
                        + " rows, with one probe)");
            }
        }
        if (fits.isEmpty()) {
            m.append(" Not even one row fits: make the model smaller.");
        } else {
            m.append(" What would fit: ").append(String.join("; or ", fits)).append('.');
        }
        throw new TooLarge(m.toString());
    }

    /** The estimate of a run of {@code spec} on {@code n} rows, {@code nTrain} of them for training. */
    public static Estimate estimate(Spec spec, long n, long nTrain, int d, int o) {
        int dtype = spec.isFloat64() ? 8 : 4;
        long params = parameters(spec, d);
        int states = spec.train().optimizer() == OptimizerKind.ADAM ? 2 : 1;
        // the parameters, their gradients, the gradients joined for the one fused update, the
        // optimizer's state, and the two copies a checkpoint makes while it writes
        long paramBytes = params * dtype * (3L + states + 2);
        // the data as float64 Java arrays twice, and one float64 copy of the parameters (the snapshot)
        long heap = dataHostBytes(n, d, o) + params * Double.BYTES;
        // the training rows on the engine (float64 as created, then in the model's dtype), or the
        // float64 copy of every row that data.npz is written from, whichever is larger
        long dataNative = Math.max(nTrain * (d + o) * (8L + dtype), n * (d + o) * 8L);
        int batch = (int) Math.min(nTrain, spec.train().batchSize() == null ? nTrain : spec.train().batchSize());
        int probes = spec.penalty().probes() == null ? 1 : spec.penalty().probes();
        PenaltyMethod method = spec.penalty().active() ? spec.penalty().method() : null;
        long perRow = stepBytesPerRow(spec, d, o, method, probes);
        return new Estimate(params, paramBytes, heap, dataNative, perRow, batch, pass(spec, d, method, probes));
    }

    private static long dataHostBytes(long n, int d, int o) {
        return 2L * n * (d + o) * Double.BYTES;
    }

    private static String pass(Spec spec, int d, PenaltyMethod method, int probes) {
        if (method == null) {
            return "no penalty";
        }
        if (method == PenaltyMethod.HUTCHINSON) {
            return "the Hutchinson penalty (" + probes + " probe" + (probes == 1 ? "" : "s") + ")";
        }
        return "the exact penalty (closed form, " + spec.penalty().norm().id() + ")";
    }

    /**
     * Native bytes per training row of one step: the model of what a step holds at once. For each
     * layer of output width w (activations included), AUTOGRAD_COPIES arrays of
     * <ul>
     *   <li>no penalty: w (the value);
     *   <li>the exact closed form: w·(1 + d + O), the value, the Jacobian along the d inputs and the
     *       adjoints of the O outputs: O(N·n·d) per layer for trace and diagonal; with the
     *       Frobenius norm, plus the Gram matrix of all r curvature rows, r², or the formed
     *       Hessians, O·r·d, whichever ClosedForm.choose takes (O(N·n²));
     *   <li>Hutchinson with k probes: w·(1 + 3k), the value and each probe's first and second
     *       directional derivatives and its product (O(N·n·k)).
     * </ul>
     * plus the row itself. The figures come from the spec alone, so that nothing is allocated first.
     */
    static long stepBytesPerRow(Spec spec, int d, int o, PenaltyMethod method, int probes) {
        int dtype = spec.isFloat64() ? 8 : 4;
        List<Long> widths = widths(spec, d);
        long sum = widths.stream().mapToLong(Long::longValue).sum();
        long perLayer;
        long extra = 0;
        if (method == null) {
            perLayer = 1;
        } else if (method == PenaltyMethod.HUTCHINSON) {
            perLayer = 1 + 3L * probes;
        } else {
            perLayer = 1 + d + o;
            if (spec.penalty().norm() == dev.hesstrain.spec.Norm.FROBENIUS
                    || spec.penalty().norm() == dev.hesstrain.spec.Norm.OFFDIAGONAL) {
                long r = curvatureRows(spec, widths);
                double gram = (double) r * r * d + (double) o * r * r; // ClosedForm.choose's multiply-adds
                double formed = (double) o * r * d * d + (double) o * r * d;
                extra = gram < formed ? r * r : (long) o * r * d;
            }
        }
        return ((sum * perLayer + extra) * AUTOGRAD_COPIES + d + o) * dtype;
    }

    /**
     * Native bytes of the parameter-curvature pass ({@code hessian/ParamCurvature}) of the spec's
     * model on {@code n} points: the model of what it holds at once, as its own rules choose it.
     * The forward values (every layer's output, and the unfolded input of a conv2d layer) stay for
     * the backward sweep; going down, H_z of the GGN part ({@code columns}: the outputs, or the
     * Fisher's samples per point) and of the residual (with {@code residual}: m more signed
     * columns at each curved activation of m features) are carried as columns, c·N·m, or densely,
     * N·m², where there are more columns than features and every layer below is flat; a conv2d
     * layer forms the per-sample kernel gradients of every column, c·N·F·C·k². The peak over the
     * layers of the carried parts and PASS_TEMPORARIES arrays of their size, plus the values.
     */
    public static long curvaturePassBytes(Spec spec, int d, long n, int columns, boolean residual) {
        int dtype = spec.isFloat64() ? 8 : 4;
        List<LayerSpec> layers = new ArrayList<>(spec.model().layers());
        if (!layers.isEmpty() && layers.get(layers.size() - 1).type() == LayerType.LOG_SOFTMAX) {
            layers.remove(layers.size() - 1);
        }
        int top = layers.size();
        long[][] in = new long[top + 1][];
        in[0] = inputShape(spec, d);
        boolean[] dense = new boolean[top];
        boolean flat = true;
        long values = 0;
        for (int l = 0; l < top; l++) {
            LayerSpec layer = layers.get(l);
            flat &= in[l].length == 1 && (layer.type() == LayerType.LINEAR || layer.isActivation());
            in[l + 1] = next(in[l], layer);
            dense[l] = flat && in[l + 1].length == 1;
            values += n * flat(in[l + 1]);
            if (layer.type() == LayerType.CONV2D) {
                values += n * (long) in[l][0] * layer.kernel() * layer.kernel() * flat(in[l + 1]) / layer.filters();
            }
        }
        long gc = columns;
        long rc = 0;
        boolean gd = false;
        boolean rd = false;
        long peak = 0;
        for (int l = top - 1; l >= 0; l--) {
            long m = flat(in[l + 1]);
            long carried = (gd ? n * m * m : gc * n * m) + (rd ? n * m * m : rc * n * m);
            long temporaries = carried;
            LayerSpec layer = layers.get(l);
            if (layer.type() == LayerType.CONV2D) {
                long ckk = (long) in[l][0] * layer.kernel() * layer.kernel();
                temporaries += (gc + rc) * n * layer.filters() * ckk;
            }
            peak = Math.max(peak, carried + temporaries * PASS_TEMPORARIES);
            if (l == 0) {
                break;
            }
            long below = flat(in[l]);
            if (residual && layer.isActivation() && layer.type() != LayerType.RELU
                    && layer.type() != LayerType.IDENTITY) {
                rc = rd ? rc : rc + below;
                rd |= dense[l - 1]; // a residual goes straight onto a dense H where it may be dense
            }
            if (dense[l - 1]) {
                gd |= gc > below;
                rd |= rc > below;
            }
        }
        return (values + peak) * dtype;
    }

    /** The rows with a curvature term: the widths of the activation layers. */
    private static long curvatureRows(Spec spec, List<Long> widths) {
        long r = 0;
        List<LayerSpec> layers = spec.model().layers();
        for (int i = 0; i < layers.size(); i++) {
            if (layers.get(i).isActivation()) {
                r += widths.get(i);
            }
        }
        return r;
    }

    /** The number of parameters of the spec's model on {@code d} inputs. */
    static long parameters(Spec spec, int d) {
        long[] shape = inputShape(spec, d);
        long total = 0;
        for (LayerSpec l : spec.model().layers()) {
            long in = shape.length == 1 ? shape[0] : shape[0];
            if (l.type() == LayerType.LINEAR) {
                long features = flat(shape);
                total += features * l.units() + (Boolean.TRUE.equals(l.bias()) ? l.units() : 0);
            } else if (l.type() == LayerType.CONV2D) {
                total += (long) l.filters() * in * l.kernel() * l.kernel() + (Boolean.TRUE.equals(l.bias()) ? l.filters() : 0);
            }
            shape = next(shape, l);
        }
        return total;
    }

    /** The output width (numbers per sample) of each layer. */
    static List<Long> widths(Spec spec, int d) {
        long[] shape = inputShape(spec, d);
        List<Long> w = new ArrayList<>();
        for (LayerSpec l : spec.model().layers()) {
            shape = next(shape, l);
            w.add(flat(shape));
        }
        return w;
    }

    private static long[] inputShape(Spec spec, int d) {
        List<Integer> s = spec.model().inputShape();
        if (s == null) {
            return new long[] {d};
        }
        return s.stream().mapToLong(Integer::longValue).toArray();
    }

    private static long[] next(long[] shape, LayerSpec l) {
        switch (l.type()) {
            case LINEAR:
                return new long[] {l.units()};
            case CONV2D: {
                if (shape.length != 3) {
                    return shape; // the network refuses it later, with its own message
                }
                long h = (shape[1] + 2L * l.padding() - l.kernel()) / l.stride() + 1;
                long w = (shape[2] + 2L * l.padding() - l.kernel()) / l.stride() + 1;
                return new long[] {l.filters(), Math.max(h, 0), Math.max(w, 0)};
            }
            case FLATTEN:
                return new long[] {flat(shape)};
            default:
                return shape;
        }
    }

    private static long flat(long[] shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }

    /** Bytes for people: 1.5 GB, 12.3 MB, 512 B. */
    public static String bytes(long b) {
        if (b >= 1L << 30) {
            return String.format(Locale.ROOT, "%.1f GB", b / (double) (1L << 30));
        }
        if (b >= 1L << 20) {
            return String.format(Locale.ROOT, "%.1f MB", b / (double) (1L << 20));
        }
        if (b >= 1L << 10) {
            return String.format(Locale.ROOT, "%.1f kB", b / 1024.0);
        }
        return b + " B";
    }
}
