package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.hesstrain.spec.LossKind;

/** Data losses, averaged over the batch as PyTorch's default reduction does. */
public final class Loss {
    private Loss() {}

    /**
     * The loss of outputs [N, o] against targets: {@code mse} against values [N, o],
     * {@code cross_entropy} of logits and {@code nll} of log-probabilities against labels [N].
     */
    public static NDArray of(LossKind loss, NDArray out, NDArray y) {
        return switch (loss) {
            case MSE -> Ops.square(out.sub(y)).mean();
            case CROSS_ENTROPY -> picked(out.logSoftmax(1), y).mean().neg();
            case NLL -> picked(out, y).mean().neg();
        };
    }

    /**
     * The loss of each of R replicas: outputs [R, N, o] (as from {@link Network#forward(NDArray,
     * java.util.List)}) against the targets shared by all replicas, to [R]; each entry is what
     * {@link #of} gives for that replica's outputs.
     */
    public static NDArray perReplica(LossKind loss, NDArray out, NDArray y) {
        long r = out.getShape().get(0);
        return switch (loss) {
            case MSE -> Ops.square(out.sub(y)).reshape(r, -1).mean(new int[] {1});
            case CROSS_ENTROPY -> picked(out.logSoftmax(-1), y).mean(new int[] {1}).neg();
            case NLL -> picked(out, y).mean(new int[] {1}).neg();
        };
    }

    /**
     * logp[..., n, y_n] for every sample n: log-probabilities [..., N, classes] (classes last, any
     * leading axes, such as replicas) picked by the labels [N].
     */
    public static NDArray picked(NDArray logp, NDArray labels) {
        int last = logp.getShape().dimension() - 1;
        int classes = (int) logp.getShape().get(last);
        // labels [..., N] of their own for every leading index (each replica's), or [N] shared
        NDArray l = labels.getShape().dimension() == last && last > 1 ? labels : labels.reshape(-1);
        NDArray onehot = l.toType(DataType.INT64, false).oneHot(classes, logp.getDataType());
        return logp.mul(onehot).sum(new int[] {last});
    }
}
