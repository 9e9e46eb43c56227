package dev.hesstrain.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.hesstrain.model.Torch;
import java.util.List;

/**
 * The passes of a training step and of an evaluation for R members, as {@link Trainer}'s loop takes
 * them: {@link NetworkPasses} for one member (the network's own passes, the fastest for one run),
 * {@link ReplicaPasses} for several (one pass on the replica axis). Figures come back as one
 * double[] per step or chunk: [total R, data R, penalty R, (Frobenius mean R, max R when computed),
 * (correct R for classification)].
 */
abstract class Passes implements AutoCloseable {
    /** Rows per chunk when evaluating whole datasets. */
    static final int EVAL_CHUNK = 1024;
    /** Numbers in the largest array of one exact Hessian pass over a chunk (see InputHessian#rowsPerPass). */
    static final long EXACT_PASS_ELEMENTS = 1L << 21;

    private final List<NDArray> leaves;

    Passes(List<NDArray> leaves) {
        this.leaves = leaves;
    }

    /**
     * The step's objectives on x [R, B, d] and y [R, B, ...], the probes of member i (Hutchinson)
     * drawn from {@code probeSeeds[i]}; returns the scalar to differentiate (the members' sum).
     */
    abstract NDArray step(NDManager step, NDArray x, NDArray y, long[] probeSeeds);

    /** The last step's figures, read after its backward pass. */
    abstract double[] read();

    /** The figures of a chunk x [R, B, d], y [R, B, ...], without gradients: with {@code exact}, the exact penalty and norms. */
    abstract double[] evaluate(NDArray x, NDArray y, boolean exact);

    /** Rows per evaluated chunk of each member. */
    abstract int chunk(boolean exact, int members);

    /** Whether the training penalty is a randomised estimate. */
    abstract boolean estimated();

    /** Temporarily attaches the persistent arrays of the passes to {@code step}. */
    void attach(NDManager step) {
        for (NDArray v : leaves) {
            dev.hesstrain.model.Scopes.tempAttach(step, v);
        }
    }

    /** The leaves' gradients as [R, P], in the parameters' order; the gradients are zeroed. */
    NDArray gradient(int r) {
        NDList grads = new NDList();
        for (NDArray v : leaves) {
            grads.add(v.getGradient().reshape(r, -1));
        }
        NDArray g = NDArrays.concat(grads, 1);
        for (NDArray v : leaves) {
            Torch.zeroGrad(v);
        }
        return g;
    }

    @Override
    public abstract void close();
}
