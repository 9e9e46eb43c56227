package dev.hesstrain.hessian;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.model.Constants;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Pairs;
import dev.hesstrain.model.Taylor;
import java.util.Locale;
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
 *   <li>offdiagonal: with w = u∘v, a = uᵀHv, b = xᵀH(x∘w), b' = x'ᵀH(x'∘w): E[b | u, v] =
 *       Σⱼ Hⱼⱼ uⱼ vⱼ = uᵀDv, so E[(a − b)(a − b') | u, v] = (uᵀOv)², whose mean is Σⱼ≠ₖ Hⱼₖ²
 *       (6 directions, 3 pairs). With Rademacher probes b = uᵀDv + xᵀO(x∘w) exactly, so the
 *       estimate sees O only and is exactly 0 where H is diagonal.
 * </ul>
 * The estimate of {@code probes} probes is their mean (for trace, the U-statistic), summed over
 * the outputs.
 */
public final class HutchinsonNorm implements AutoCloseable {

    /** The distribution of the probe entries. */
    public enum Distribution {
        RADEMACHER,
        GAUSSIAN;

        public static Distribution of(String name) {
            return valueOf(name.toUpperCase(Locale.ROOT));
        }
    }

    private final Network network;
    private final Norm norm;
    private final int probes;
    private final Distribution distribution;
    private final Pairs pairs;
    private final int directions;
    private final int d;

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
            case OFFDIAGONAL -> Pairs.zip(3 * probes);
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
        double[] v = new double[Math.multiplyExact(directions, block)];
        switch (norm) {
            case FROBENIUS, TRACE -> draw(rng, v, 0, v.length);
            case DIAGONAL -> {
                // blocks [x, x', x∘y, x'∘y]: pairs (x, x∘y) and (x', x'∘y)
                draw(rng, v, 0, 2 * block);
                double[] y = new double[block];
                draw(rng, y, 0, block);
                for (int i = 0; i < block; i++) {
                    v[2 * block + i] = v[i] * y[i];
                    v[3 * block + i] = v[block + i] * y[i];
                }
            }
            case OFFDIAGONAL -> {
                // blocks [u, x, x', v, x∘w, x'∘w] with w = u∘v: pairs (u, v), (x, x∘w), (x', x'∘w)
                draw(rng, v, 0, 4 * block);
                for (int i = 0; i < block; i++) {
                    double w = v[i] * v[3 * block + i];
                    v[4 * block + i] = v[block + i] * w;
                    v[5 * block + i] = v[2 * block + i] * w;
                }
            }
            default -> throw new IllegalStateException(norm.toString());
        }
        Shape shape = new Shape(directions, n, d);
        if (network.dtype() == DataType.FLOAT64) {
            return manager.create(v, shape);
        }
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return manager.create(f, shape).toType(network.dtype(), false);
    }

    /** Fills v[from, to) with independent entries of the distribution. */
    private void draw(SplittableRandom rng, double[] v, int from, int to) {
        if (distribution == Distribution.GAUSSIAN) {
            for (int i = from; i < to; i++) {
                v[i] = rng.nextGaussian();
            }
            return;
        }
        for (int i = from; i < to; i += 64) {
            long bits = rng.nextLong();
            int end = Math.min(to, i + 64);
            for (int j = i; j < end; j++) {
                v[j] = (bits & 1L) == 0 ? -1 : 1;
                bits >>>= 1;
            }
        }
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
            case FROBENIUS -> h.square().mean(new int[] {0});
            case TRACE -> {
                NDArray s = h.sum(new int[] {0});
                yield s.square().sub(h.square().sum(new int[] {0})).mul(constants().of(traceScale()));
            }
            case DIAGONAL -> h.get(":" + k).mul(h.get(k + ":")).mean(new int[] {0});
            case OFFDIAGONAL -> {
                NDArray a = h.get(":" + k);
                yield a.sub(h.get(k + ":" + 2 * k)).mul(a.sub(h.get(2 * k + ":"))).mean(new int[] {0});
            }
        };
        NDArray perSample = perOutput.sum(new int[] {1});
        if (perSample.getShape().get(0) != n) {
            perSample = perSample.broadcast(new Shape(n));
        }
        return perSample;
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
