package dev.hesstrain.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.hessian.HutchinsonNorm;
import dev.hesstrain.hessian.InputHessian;
import dev.hesstrain.model.Loss;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Taylor;
import dev.hesstrain.spec.LossKind;
import dev.hesstrain.spec.Norm;
import java.util.SplittableRandom;

/**
 * The training objective on one batch: data loss + λ · mean over samples of Σ over outputs of the
 * chosen norm of the input Hessian, computed exactly ({@link InputHessian}: the closed form, or the
 * Taylor pass where a layer lacks its structure), or estimated from random
 * probes ({@link HutchinsonNorm}) drawn afresh for every evaluation.
 */
public final class Objective {
    private final Network network;
    private final LossKind loss;
    private final double lambda;
    private final Norm norm;
    private final InputHessian hessian;
    private final HutchinsonNorm estimator;
    private SplittableRandom probes;

    /** The objective with the exact penalty. */
    public Objective(Network network, LossKind loss, double lambda, Norm norm, InputHessian hessian) {
        this(network, loss, lambda, norm, hessian, null, null);
    }

    /**
     * The objective with the penalty estimated by {@code estimator} (of the same norm) from probes
     * drawn from {@code probes}, or exact where {@code estimator} is null. {@code hessian} serves
     * {@link #evaluateExact}.
     */
    public Objective(Network network, LossKind loss, double lambda, Norm norm, InputHessian hessian,
            HutchinsonNorm estimator, SplittableRandom probes) {
        if (estimator != null && (estimator.norm() != norm || probes == null)) {
            throw new IllegalArgumentException("the estimator must estimate " + norm + " and needs a random stream");
        }
        this.network = network;
        this.loss = loss;
        this.lambda = lambda;
        this.norm = norm;
        this.hessian = hessian;
        this.estimator = estimator;
        this.probes = probes;
        network.constants().of(lambda); // made now, outside any step
    }

    /** Draws the probes from {@code stream} from now on (the trainer gives each epoch its own stream). */
    public void reseedProbes(SplittableRandom stream) {
        if (estimator != null) {
            this.probes = stream;
        }
    }

    /**
     * Values of one evaluation. Arrays are scalars except {@code output}, the model's output
     * [N, o], and {@code fro}, the per-sample squared Frobenius norm of the input Hessian (summed
     * over outputs), or null when not computed.
     */
    public record Values(NDArray total, NDArray data, NDArray penalty, NDArray fro, NDArray output) {}

    /**
     * Evaluates the objective on x [N, d], y [N, o] (or labels [N]). With {@code curvature}, the
     * penalty is computed (exactly, or estimated from fresh probes) and added when λ > 0; an
     * estimate leaves {@code fro} null, and so does an exact penalty whose pass would compute the
     * Frobenius norm only for the metrics (the closed form's trace and diagonal: the Gram matrices
     * were a third to a half of a digits trace step).
     */
    public Values evaluate(NDArray x, NDArray y, boolean curvature) {
        if (curvature && estimator != null) {
            Taylor t = estimator.taylor(x, probes.split());
            NDArray out = t.value();
            NDArray penalty = estimator.scaledMean(t, lambda);
            NDArray data = dataLoss(out, y);
            return new Values(lambda > 0 ? data.add(penalty) : data, data, penalty, null, out);
        }
        return exactly(x, y, curvature, curvature && hessian.frobeniusIsCheap(norm));
    }

    /** Evaluates the objective with the exact penalty and Hessian norms, whatever the method. */
    public Values evaluateExact(NDArray x, NDArray y) {
        return exactly(x, y, true, true);
    }

    /**
     * With {@code withFrobenius}, the Hessian norms too; a training step computes them only where
     * they come almost free with its penalty ({@link InputHessian#frobeniusIsCheap}), else the
     * trainer evaluates them once per epoch.
     */
    private Values exactly(NDArray x, NDArray y, boolean curvature, boolean withFrobenius) {
        NDArray out;
        NDArray penalty;
        NDArray fro = null;
        if (curvature) {
            InputHessian.Exact e = hessian.exact(x, norm, withFrobenius);
            out = e.value();
            penalty = e.norm().mean().mul(network.constants().of(lambda));
            fro = e.frobenius();
        } else {
            network.attach(x.getManager());
            out = network.forward(x);
            penalty = x.getManager().zeros(new Shape(), out.getDataType());
        }
        NDArray data = dataLoss(out, y);
        NDArray total = lambda > 0 && curvature ? data.add(penalty) : data;
        return new Values(total, data, penalty, fro, out);
    }

    /** The data loss of outputs against targets, see {@link Loss}. */
    public NDArray dataLoss(NDArray out, NDArray y) {
        return Loss.of(loss, out, y);
    }

    public boolean penalized() {
        return lambda > 0;
    }

    /** Whether the training penalty is a randomised estimate. */
    public boolean estimated() {
        return estimator != null;
    }
}
