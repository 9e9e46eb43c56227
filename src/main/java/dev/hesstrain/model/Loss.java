package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.hesstrain.spec.LossKind;

/**
 * The data losses, each with everything the code needs of it in one place: its value averaged over
 * the batch (as PyTorch's default reduction), the same for each replica of a replicated pass, and
 * its first and second derivatives with respect to the model's outputs at one sample, from which
 * the input Hessian of the loss follows by the chain rule: ∇²ℓ = Σ_q g_q ∇²f_q + Jᵀ A J with
 * g = ∂ℓ/∂f and A = ∂²ℓ/∂f². One constant per loss kind of the spec, of the same name ({@link #of}).
 */
public enum Loss {
    /** ℓ = (1/o) Σ_q (f_q − y_q)² per sample: g = 2(f − y)/o, A = 2I/o. */
    MSE {
        @Override
        public NDArray value(NDArray out, NDArray y) {
            return Ops.square(out.sub(y)).mean();
        }

        @Override
        public NDArray perReplica(NDArray out, NDArray y) {
            return Ops.square(out.sub(y)).reshape(out.getShape().get(0), -1).mean(new int[] {1});
        }

        @Override
        public void outputDerivatives(double[] f, int at, int o, double[] y, int s, double[] g, double[] a) {
            java.util.Arrays.fill(a, 0);
            for (int q = 0; q < o; q++) {
                g[q] = 2.0 / o * (f[at + q] - y[s * o + q]);
                a[q * o + q] = 2.0 / o;
            }
        }
    },
    /** ℓ = −log softmax(f)_y of logits f and a label y: g = p − e_y, A = diag p − p pᵀ with p = softmax(f). */
    CROSS_ENTROPY {
        @Override
        public NDArray value(NDArray out, NDArray y) {
            return picked(out.logSoftmax(-1), y).mean().neg();
        }

        @Override
        public NDArray perReplica(NDArray out, NDArray y) {
            return picked(out.logSoftmax(-1), y).mean(new int[] {1}).neg();
        }

        @Override
        public void outputDerivatives(double[] f, int at, int o, double[] y, int s, double[] g, double[] a) {
            double max = Double.NEGATIVE_INFINITY;
            for (int q = 0; q < o; q++) {
                max = Math.max(max, f[at + q]);
            }
            double sum = 0;
            for (int q = 0; q < o; q++) {
                g[q] = Math.exp(f[at + q] - max);
                sum += g[q];
            }
            for (int q = 0; q < o; q++) {
                g[q] /= sum; // p
            }
            for (int q = 0; q < o; q++) {
                for (int r = 0; r < o; r++) {
                    a[q * o + r] = (q == r ? g[q] : 0) - g[q] * g[r];
                }
            }
            g[(int) y[s]] -= 1;
        }
    },
    /** ℓ = −f_y of log-probabilities f and a label y: g = −e_y, A = 0. */
    NLL {
        @Override
        public NDArray value(NDArray out, NDArray y) {
            return picked(out, y).mean().neg();
        }

        @Override
        public NDArray perReplica(NDArray out, NDArray y) {
            return picked(out, y).mean(new int[] {1}).neg();
        }

        @Override
        public void outputDerivatives(double[] f, int at, int o, double[] y, int s, double[] g, double[] a) {
            java.util.Arrays.fill(g, 0, o, 0);
            java.util.Arrays.fill(a, 0);
            g[(int) y[s]] = -1;
        }
    };

    /** The loss of outputs [N, o] against targets: values [N, o] for mse, labels [N] otherwise; a scalar. */
    public abstract NDArray value(NDArray out, NDArray y);

    /**
     * The loss of each of R replicas: outputs [R, N, o] (as from {@link Network#forward(NDArray,
     * java.util.List)}) against targets shared by all replicas ([N, o] or [N]) or each replica's own
     * ([R, N, o] or [R, N]), to [R]; entry r is what {@link #value} gives for replica r.
     */
    public abstract NDArray perReplica(NDArray out, NDArray y);

    /**
     * At sample s with outputs f[at .. at+o), the gradient g [o] and the Hessian a [o·o, row-major]
     * of this sample's loss with respect to its outputs; y holds the targets of all samples
     * ([n, o] values, or [n] labels).
     */
    public abstract void outputDerivatives(double[] f, int at, int o, double[] y, int s, double[] g, double[] a);

    /** The loss of the spec's kind (the constant of the same name). */
    public static Loss of(LossKind kind) {
        return valueOf(kind.name());
    }

    /** {@link #value} of the loss of a kind. */
    public static NDArray of(LossKind loss, NDArray out, NDArray y) {
        return of(loss).value(out, y);
    }

    /** {@link #perReplica} of the loss of a kind. */
    public static NDArray perReplica(LossKind loss, NDArray out, NDArray y) {
        return of(loss).perReplica(out, y);
    }

    /**
     * logp[..., n, y_n] for every sample n: log-probabilities [..., N, classes] (classes last, any
     * leading axes, such as replicas) picked by the labels: [..., N] of their own for every
     * leading index, or [N] shared by all.
     */
    public static NDArray picked(NDArray logp, NDArray labels) {
        int last = logp.getShape().dimension() - 1;
        int classes = (int) logp.getShape().get(last);
        NDArray l = labels.getShape().dimension() == last && last > 1 ? labels : labels.reshape(-1);
        NDArray onehot = l.toType(DataType.INT64, false).oneHot(classes, logp.getDataType());
        return logp.mul(onehot).sum(new int[] {last});
    }
}
