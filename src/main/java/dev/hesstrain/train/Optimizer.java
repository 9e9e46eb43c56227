package dev.hesstrain.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import dev.hesstrain.model.Parameter;
import dev.hesstrain.model.Torch;
import dev.hesstrain.spec.OptimizerKind;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Adam and SGD with momentum, with PyTorch's update rules, through the engine's fused in-place
 * updates. Gradients are zeroed in place after each update.
 *
 * <p>When the parameters are views of one flat array (see {@code Network.flatParameters}), one
 * update of the flat array, from the gradients joined in the same order, serves them all: each
 * fused update is about ten small kernels, so one call instead of one per parameter saves most
 * of the optimizer's time in a step of a small model.
 */
public final class Optimizer {
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double EPS = 1e-8;

    private final OptimizerKind kind;
    private final double lr;
    private final double momentum;
    private final List<NDArray> params = new ArrayList<>();
    private final List<NDArray> targets = new ArrayList<>();
    private final List<NDArray> state1 = new ArrayList<>();
    private final List<NDArray> state2 = new ArrayList<>();
    private final NDArray flat;
    private long t;

    /**
     * An optimizer of {@code parameters}; {@code flat} is null, or the array whose views they are,
     * in order and covering it.
     */
    public Optimizer(OptimizerKind kind, double lr, double momentum, List<Parameter> parameters, NDArray flat) {
        this.kind = kind;
        this.lr = lr;
        this.momentum = momentum;
        for (Parameter p : parameters) {
            p.array().setRequiresGradient(true);
            params.add(p.array());
        }
        if (flat != null && flat.size() != parameters.stream().mapToLong(p -> p.array().size()).sum()) {
            throw new IllegalArgumentException("the flat array does not hold exactly the parameters");
        }
        this.flat = flat;
        targets.addAll(flat == null ? params : List.of(flat));
        for (NDArray a : targets) {
            state1.add(a.getManager().zeros(a.getShape(), a.getDataType()));
            state2.add(kind == OptimizerKind.ADAM ? a.getManager().zeros(a.getShape(), a.getDataType()) : null);
        }
    }

    /** Applies one update from the parameters' gradients, then zeroes them. */
    public void step() {
        t++;
        List<NDArray> grads = new ArrayList<>();
        for (NDArray w : params) {
            grads.add(w.getGradient());
        }
        NDArray joined = null;
        if (flat != null) {
            NDList parts = new NDList();
            for (NDArray g : grads) {
                parts.add(g.getShape().dimension() == 1 ? g : g.reshape(-1));
            }
            joined = NDArrays.concat(parts);
        }
        // PyTorch: w -= lr/(1-β1^t) · m / (√v/√(1-β2^t) + ε), which the fused update computes
        // as w -= lr·√(1-β2^t)/(1-β1^t) · m / (√v + ε·√(1-β2^t)).
        double bc2 = Math.sqrt(1 - Math.pow(BETA2, t));
        double lrCorrected = lr * bc2 / (1 - Math.pow(BETA1, t));
        for (int i = 0; i < targets.size(); i++) {
            NDArray w = targets.get(i);
            NDArray g = flat == null ? grads.get(i) : joined;
            if (kind == OptimizerKind.ADAM) {
                Torch.adamUpdate(w, g, state1.get(i), state2.get(i), lr, lrCorrected, BETA1, BETA2, EPS * bc2);
            } else {
                Torch.sgdUpdate(w, g, state1.get(i), lr, momentum);
            }
        }
        zeroGradients();
        if (joined != null) {
            joined.close();
        }
        for (NDArray g : grads) {
            g.close();
        }
    }

    /** Updates applied so far (Adam's t, which its bias corrections use). */
    public long updates() {
        return t;
    }

    /**
     * The optimizer's state arrays by name, for a checkpoint: Adam's first and second moments
     * ({@code optimizer.m.<i>}, {@code optimizer.v.<i>}), SGD's momentum buffers
     * ({@code optimizer.m.<i>}), one per updated array {@code i} (one in all when the parameters are
     * views of one flat array). The arrays are the live state: copy them before they change.
     */
    public Map<String, NDArray> state() {
        Map<String, NDArray> s = new LinkedHashMap<>();
        for (int i = 0; i < targets.size(); i++) {
            s.put("optimizer.m." + i, state1.get(i));
            if (state2.get(i) != null) {
                s.put("optimizer.v." + i, state2.get(i));
            }
        }
        return s;
    }

    /**
     * Restores state exported by {@link #state} and the update count: the arrays are copied into
     * the live state in place. Every array of this optimizer's state must be given, with its shape;
     * the values are converted to its dtype.
     *
     * @throws IllegalArgumentException naming the array that is missing or has another shape
     */
    public void restore(Map<String, NDArray> saved, long updates) {
        Map<String, NDArray> live = state();
        for (Map.Entry<String, NDArray> e : live.entrySet()) {
            NDArray v = saved.get(e.getKey());
            if (v == null) {
                throw new IllegalArgumentException("no " + e.getKey() + " (the " + kind.id() + " state)");
            }
            if (!v.getShape().equals(e.getValue().getShape())) {
                throw new IllegalArgumentException(e.getKey() + " has shape " + v.getShape() + ", the optimizer's is "
                        + e.getValue().getShape());
            }
        }
        for (Map.Entry<String, NDArray> e : live.entrySet()) {
            e.getValue().set(new ai.djl.ndarray.index.NDIndex(":"),
                    saved.get(e.getKey()).toType(e.getValue().getDataType(), false));
        }
        if (updates < 0) {
            throw new IllegalArgumentException("the update count is " + updates);
        }
        this.t = updates;
    }

    /** Zeroes the parameters' gradients in place (after an update, or when a step is abandoned). */
    public void zeroGradients() {
        for (NDArray w : params) {
            Torch.zeroGrad(w);
        }
    }
}
