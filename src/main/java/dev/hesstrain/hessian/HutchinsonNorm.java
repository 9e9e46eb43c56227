package dev.hesstrain.hessian;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.model.Constants;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Ops;
import dev.hesstrain.model.Pairs;
import dev.hesstrain.model.Taylor;
import dev.hesstrain.spec.Distribution;
import dev.hesstrain.spec.Norm;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/**
 * Unbiased randomised estimates of the input-Hessian norms of {@link Norm}, from directional
 * second derivatives aᵀHb that one Taylor pass carries along random probe directions. The probes
 * are drawn afresh for every sample (directions [K, N, d]) and are constants of the pass, so the
 * estimate is differentiable in the parameters like the exact norm.
 *
 * <p>Probe vectors have independent entries of mean 0 and variance 1 (Rademacher ±1, or standard
 * Gaussian), so E[u uᵀ] = I. With H one output's Hessian at one sample, D its diagonal part and
 * O = H − D, one probe of each norm is (∘ is the elementwise product; u, v, x, x', y independent):
 * <ul>
 *   <li>frobenius: (uᵀHv)², since E[(uᵀHv)²] = E[vᵀH²v] = tr H² (2 directions, 1 pair);
 *   <li>trace: t_i = u_iᵀHu_i are independent Hutchinson estimates of tr H, and for i ≠ j
 *       E[t_i t_j] = (tr H)²; k probes draw 2k of them and average t_i t_j over all i ≠ j
 *       (a U-statistic: ((Σt)² − Σt²) / (2k(2k−1))) (2 directions, 2 pairs);
 *   <li>diagonal: s = xᵀH(x∘y) and s' = x'ᵀH(x'∘y) are independent unbiased estimates of
 *       Σⱼ Hⱼⱼ yⱼ given y, since E[x_j x_k] = δ_jk; so E[s s'] = E[(Σⱼ Hⱼⱼ yⱼ)²] = Σⱼ Hⱼⱼ²
 *       (4 directions, 2 pairs);
 *   <li>offdiagonal: with w = u∘v, a = uᵀHv and b = xᵀH(x∘w): E[b | u, v] = Σⱼ Hⱼⱼ uⱼ vⱼ =
 *       uᵀDv, so E[a (a − b) | u, v] = (uᵀHv)(uᵀOv), whose mean is Σⱼₖ Hⱼₖ Oⱼₖ = Σⱼ≠ₖ Hⱼₖ²
 *       (4 directions, 2 pairs). With Rademacher probes b = uᵀDv + xᵀO(x∘w) exactly, so
 *       a − b = uᵀOv − xᵀO(x∘w) and the estimate is exactly 0 where H is diagonal.
 * </ul>
 * The estimate of {@code probes} probes is their mean (for trace, the U-statistic), summed over
 * the outputs.
 *
 * <p>Not thread-safe: the probes of each call are written through one reused buffer.
 */
public final class HutchinsonNorm implements AutoCloseable {

    /** For each byte of random bits, the 8 signs ±1 (bit m gives byte m in memory) as one long. */
    private static final long[] SIGNS = new long[256];

    static {
        ByteBuffer eight = ByteBuffer.allocate(8).order(ByteOrder.nativeOrder());
        for (int bits = 0; bits < 256; bits++) {
            for (int m = 0; m < 8; m++) {
                eight.put(m, (byte) (((bits >>> m) & 1) == 0 ? -1 : 1));
            }
            SIGNS[bits] = eight.getLong(0);
        }
    }

    private final Network network;
    private final Norm norm;
    private final int probes;
    private final Distribution distribution;
    private final Pairs pairs;
    private final int directions;
    private final int d;
    /** Reused for every draw: an array made from a fresh direct buffer per step pins memory until a GC. */
    private ByteBuffer buffer = ByteBuffer.allocateDirect(0);
    private double[] values = new double[0];

    public HutchinsonNorm(Network network, Norm norm, int probes, Distribution distribution) {
        if (probes < 1) {
            throw new IllegalArgumentException("probes must be positive, found " + probes);
        }
        this.network = network;
        this.norm = norm;
        this.probes = probes;
        this.distribution = distribution;
        this.d = network.inputs();
        this.pairs = switch (norm) {
            case FROBENIUS -> Pairs.zip(probes);
            case TRACE -> Pairs.diagonal(2 * probes);
            case DIAGONAL -> Pairs.zip(2 * probes);
            case OFFDIAGONAL -> Pairs.zip(2 * probes);
        };
        this.directions = pairs.directions();
        // made now, so that a step never creates one outside its own manager
        constants().of(traceScale());
    }

    public Norm norm() {
        return norm;
    }

    public int probes() {
        return probes;
    }

    public Distribution distribution() {
        return distribution;
    }

    /** Directions per sample of one estimate (first derivatives the Taylor pass carries). */
    public int directions() {
        return directions;
    }

    /** The pairs of directions whose second derivatives the estimate needs. */
    public Pairs pairs() {
        return pairs;
    }

    /**
     * Taylor pass at x [N, d] along fresh probe directions drawn from {@code rng}: the value of the
     * model and the directional derivatives that {@link #estimate} needs.
     */
    public Taylor taylor(NDArray x, SplittableRandom rng) {
        NDManager step = x.getManager();
        network.attach(step);
        pairs.attach(step);
        int n = Math.toIntExact(x.getShape().get(0));
        return network.taylor(x, directions(step, n, rng), pairs);
    }

    /**
     * The probe directions [K, n, d] for n samples in the network's dtype: independent for every
     * sample, drawn from {@code rng} in a fixed order (so that a seed gives the same probes).
     */
    public NDArray directions(NDManager manager, int n, SplittableRandom rng) {
        int block = Math.multiplyExact(Math.multiplyExact(probes, n), d); // one vector per probe and sample
        int size = Math.multiplyExact(directions, block);
        // independent draws first (blocks 0..free-1), then the products of the composite blocks
        int free = switch (norm) {
            case FROBENIUS, TRACE -> directions;
            case DIAGONAL -> 3; // [x, x', y] and then y becomes x∘y, block 3 x'∘y
            case OFFDIAGONAL -> 3; // [u, x, v], then block 3: x∘w with w = u∘v
        };
        Shape shape = new Shape(directions, n, d);
        NDArray shared;
        if (distribution == Distribution.RADEMACHER) {
            // ±1 as bytes: a quarter of the memory of floats, and the products stay exact
            ByteBuffer b = buffer(size);
            int total = free * block;
            int at = 0;
            for (; at + 64 <= total; at += 64) { // 64 signs from one draw, 8 at a time
                long bits = rng.nextLong();
                for (int q = 0; q < 8; q++) {
                    b.putLong(at + 8 * q, SIGNS[(int) (bits >>> (8 * q)) & 0xFF]);
                }
            }
            for (long bits = rng.nextLong(); at < total; at++, bits >>>= 1) {
                b.put(at, (byte) ((((int) bits & 1) << 1) - 1));
            }
            for (int i = 0; i < block; i++) {
                if (norm == Norm.DIAGONAL) {
                    byte y = b.get(2 * block + i);
                    b.put(3 * block + i, (byte) (b.get(block + i) * y));
                    b.put(2 * block + i, (byte) (b.get(i) * y));
                } else if (norm == Norm.OFFDIAGONAL) {
                    b.put(3 * block + i, (byte) (b.get(block + i) * b.get(i) * b.get(2 * block + i)));
                }
            }
            shared = manager.create(b, shape, DataType.INT8);
        } else {
            if (values.length < size) {
                values = new double[size];
            }
            double[] v = values;
            for (int i = 0; i < free * block; i++) {
                v[i] = rng.nextGaussian();
            }
            for (int i = 0; i < block; i++) {
                if (norm == Norm.DIAGONAL) {
                    double y = v[2 * block + i];
                    v[3 * block + i] = v[block + i] * y;
                    v[2 * block + i] = v[i] * y;
                } else if (norm == Norm.OFFDIAGONAL) {
                    v[3 * block + i] = v[block + i] * (v[i] * v[2 * block + i]);
                }
            }
            if (network.dtype() == DataType.FLOAT64) {
                ByteBuffer b = buffer(size * Double.BYTES);
                b.asDoubleBuffer().put(v, 0, size);
                shared = manager.create(b, shape, DataType.FLOAT64);
            } else {
                ByteBuffer b = buffer(size * Float.BYTES);
                java.nio.FloatBuffer f = b.asFloatBuffer();
                for (int i = 0; i < size; i++) {
                    f.put(i, (float) v[i]);
                }
                shared = manager.create(b, shape, DataType.FLOAT32);
            }
        }
        // the array shares the buffer's memory: copy it into memory of its own (toType(same dtype,
        // copy = true) would not copy, and the next draw would overwrite these probes)
        try (shared) {
            return shared.getDataType() == network.dtype() ? shared.duplicate() : shared.toType(network.dtype(), false);
        }
    }

    /** The reused direct buffer, holding {@code bytes} bytes from position 0. */
    private ByteBuffer buffer(int bytes) {
        if (buffer.capacity() < bytes) {
            buffer = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
        }
        buffer.clear().limit(bytes);
        return buffer;
    }

    /**
     * The per-sample estimate [N], summed over outputs, from a Taylor pass of {@link #taylor} (zero
     * where the model is affine in its input).
     */
    public NDArray estimate(Taylor t) {
        NDArray h = t.hess();
        long n = t.value().getShape().get(0);
        if (h == null) {
            return t.value().getManager().zeros(new Shape(n), t.value().getDataType());
        }
        int k = probes;
        NDArray perOutput = switch (norm) {
            case FROBENIUS -> Ops.square(h).mean(new int[] {0});
            case TRACE -> {
                NDArray s = h.sum(new int[] {0});
                yield Ops.square(s).sub(Ops.square(h).sum(new int[] {0})).mul(constants().of(traceScale()));
            }
            case DIAGONAL -> h.get(":" + k).mul(h.get(k + ":")).mean(new int[] {0});
            case OFFDIAGONAL -> {
                NDArray a = h.get(":" + k);
                yield a.mul(a.sub(h.get(k + ":"))).mean(new int[] {0});
            }
        };
        NDArray perSample = perOutput.sum(new int[] {1});
        if (perSample.getShape().get(0) != n) {
            perSample = perSample.broadcast(new Shape(n));
        }
        return perSample;
    }

    /**
     * {@code scale} times the mean over samples of {@link #estimate}, as a scalar: the same number
     * with the fewest ops (each op of a training step also costs one in the backward pass).
     */
    public NDArray scaledMean(Taylor t, double scale) {
        NDArray h = t.hess();
        long n = t.value().getShape().get(0);
        if (h == null) {
            return t.value().getManager().zeros(new Shape(), t.value().getDataType());
        }
        int k = probes;
        NDArray total = switch (norm) {
            case FROBENIUS -> Ops.square(h).sum();
            case TRACE -> Ops.square(h.sum(new int[] {0})).sub(Ops.square(h).sum(new int[] {0})).sum();
            case DIAGONAL -> h.get(":" + k).mul(h.get(k + ":")).sum();
            case OFFDIAGONAL -> {
                NDArray a = h.get(":" + k);
                yield a.mul(a.sub(h.get(k + ":"))).sum();
            }
        };
        double terms = norm == Norm.TRACE ? 1 / traceScale() : k; // per sample and output
        double samples = h.getShape().get(1) == n ? n : 1; // a broadcast batch axis holds every sample's value
        double c = scale / (terms * samples);
        return total.mul(constants().of(c));
    }

    /** 1 / (m (m − 1)) for the m = 2k Hutchinson values of the trace estimate. */
    private double traceScale() {
        double m = 2.0 * probes;
        return 1.0 / (m * (m - 1));
    }

    private Constants constants() {
        return network.constants();
    }

    @Override
    public void close() {
        pairs.close();
    }
}
