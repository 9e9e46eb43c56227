package dev.hesstrain.model;

import ai.djl.engine.Engine;
import ai.djl.engine.EngineException;
import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.function.Supplier;

/**
 * The one adapter for PyTorch-specific calls that DJL's engine-neutral API does not offer:
 * backward passes that keep or build a graph (reverse-over-reverse second derivatives), gradient
 * zeroing in place, grad mode, the fused optimizer updates and the intra-op thread count. Nothing
 * else in hesstrain imports {@code ai.djl.pytorch}; every cast to {@code PtNDArray} is here.
 */
public final class Torch {
    private Torch() {}

    /**
     * Backward from {@code y} (seeded with ones of its shape), keeping the graph for more passes.
     * With {@code createGraph} the gradients themselves carry a graph, so that a second backward
     * pass through them gives second derivatives. A leaf whose gradient carries a graph forms a
     * reference cycle with it, so memory grows with every such pass: for one-shot inspection and
     * cross-checks, never in a training loop.
     */
    public static void backward(NDArray y, boolean createGraph) {
        JniUtils.backward(pt(y), pt(y.onesLike()), true, createGraph);
    }

    /**
     * As {@link #backward(NDArray, boolean)} without a new graph, but false instead of an error when
     * {@code y} has no graph at all, that is when it does not depend on any leaf (a gradient entry
     * that is constant in the parameters, such as that of a linear output's bias).
     */
    public static boolean backwardIfDependent(NDArray y) {
        try {
            backward(y, false);
            return true;
        } catch (EngineException e) {
            if (String.valueOf(e.getMessage()).contains("does not require grad")) {
                return false;
            }
            throw e;
        }
    }

    /** Zeroes the gradient of {@code leaf} in place (no new array). */
    public static void zeroGrad(NDArray leaf) {
        JniUtils.zeroGrad(pt(leaf));
    }

    /** Runs {@code op} with grad mode on, so that it is recorded in the graph outside a collector. */
    public static NDArray recorded(Supplier<NDArray> op) {
        boolean before = JniUtils.isGradMode();
        JniUtils.setGradMode(true);
        try {
            return op.get();
        } finally {
            JniUtils.setGradMode(before);
        }
    }

    /**
     * PyTorch's fused Adam update in place: w −= lr_t · m / (√v + ε_t) after updating m and v from
     * the gradient g with β1 and β2 (no weight decay). The caller folds the bias corrections into
     * {@code lrCorrected} and {@code eps}.
     */
    public static void adamUpdate(NDArray w, NDArray g, NDArray m, NDArray v, double lr, double lrCorrected,
            double beta1, double beta2, double eps) {
        adamUpdate(w, g, m, v, lr, lrCorrected, beta1, beta2, eps, 0);
    }

    /**
     * The same with AdamW's decoupled weight decay ({@code torch.optim.AdamW}): w −= lr · wd · w
     * before the Adam step (the engine's update with its {@code adamw} flag).
     */
    public static void adamUpdate(NDArray w, NDArray g, NDArray m, NDArray v, double lr, double lrCorrected,
            double beta1, double beta2, double eps, double weightDecay) {
        JniUtils.adamUpdate(pt(w), pt(g), pt(m), pt(v), (float) lr, (float) lrCorrected, (float) weightDecay, 1f, -1f,
                (float) beta1, (float) beta2, (float) eps, weightDecay > 0);
    }

    /** PyTorch's fused SGD update with momentum in place: b = μ b + g, w −= lr · b. */
    public static void sgdUpdate(NDArray w, NDArray g, NDArray momentumBuffer, double lr, double momentum) {
        sgdUpdate(w, g, momentumBuffer, lr, momentum, 0);
    }

    /**
     * The same with L2 weight decay added to the gradient, g + wd · w ({@code torch.optim.SGD}'s
     * {@code weight_decay}). The engine keeps lr · b in the buffer: b' = μ b' + lr (g + wd w), w −= b'.
     */
    public static void sgdUpdate(NDArray w, NDArray g, NDArray momentumBuffer, double lr, double momentum,
            double weightDecay) {
        JniUtils.sgdUpdate(pt(w), pt(g), pt(momentumBuffer), (float) lr, (float) weightDecay, 1f, -1f,
                (float) momentum);
    }

    /** PyTorch's intra-op thread count for this process. */
    public static int threads() {
        Engine.getInstance(); // loads PyTorch first
        return JniUtils.getNumThreads();
    }

    /** Sets PyTorch's intra-op thread count for this process. */
    public static void setThreads(int threads) {
        Engine.getInstance(); // loads PyTorch first
        JniUtils.setNumThreads(threads);
    }

    private static PtNDArray pt(NDArray a) {
        if (a instanceof PtNDArray p) {
            return p;
        }
        throw new IllegalArgumentException("hesstrain runs on DJL's PyTorch engine; this array belongs to "
                + a.getManager().getEngine().getEngineName());
    }
}
