package dev.hesstrain.train;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.hesstrain.model.Parameter;
import java.util.ArrayList;
import java.util.List;

/**
 * Adam and SGD with momentum, with PyTorch's update rules, through the engine's fused in-place
 * updates. Gradients are zeroed in place after each update.
 */
public final class Optimizer {
    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double EPS = 1e-8;

    private final String kind;
    private final double lr;
    private final double momentum;
    private final List<NDArray> params = new ArrayList<>();
    private final List<NDArray> state1 = new ArrayList<>();
    private final List<NDArray> state2 = new ArrayList<>();
    private long t;

    public Optimizer(String kind, double lr, double momentum, List<Parameter> parameters) {
        this.kind = kind;
        this.lr = lr;
        this.momentum = momentum;
        for (Parameter p : parameters) {
            NDArray a = p.array();
            a.setRequiresGradient(true);
            params.add(a);
            state1.add(a.getManager().zeros(a.getShape(), a.getDataType()));
            state2.add(kind.equals("adam") ? a.getManager().zeros(a.getShape(), a.getDataType()) : null);
        }
    }

    /** Applies one update from the parameters' gradients, then zeroes them. */
    public void step() {
        t++;
        // PyTorch: w -= lr/(1-β1^t) · m / (√v/√(1-β2^t) + ε), which the fused update computes
        // as w -= lr·√(1-β2^t)/(1-β1^t) · m / (√v + ε·√(1-β2^t)).
        double bc2 = Math.sqrt(1 - Math.pow(BETA2, t));
        double lrCorrected = lr * bc2 / (1 - Math.pow(BETA1, t));
        for (int i = 0; i < params.size(); i++) {
            PtNDArray w = (PtNDArray) params.get(i);
            PtNDArray g = (PtNDArray) w.getGradient();
            if (kind.equals("adam")) {
                JniUtils.adamUpdate(w, g, (PtNDArray) state1.get(i), (PtNDArray) state2.get(i),
                        (float) lr, (float) lrCorrected, 0f, 1f, -1f,
                        (float) BETA1, (float) BETA2, (float) (EPS * bc2), false);
            } else {
                JniUtils.sgdUpdate(w, g, (PtNDArray) state1.get(i), (float) lr, 0f, 1f, -1f, (float) momentum);
            }
            JniUtils.zeroGrad(w);
            g.close();
        }
    }
}
