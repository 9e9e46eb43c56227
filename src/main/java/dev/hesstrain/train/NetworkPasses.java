package dev.hesstrain.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.data.Seeds;
import dev.hesstrain.hessian.HutchinsonNorm;
import dev.hesstrain.hessian.InputHessian;
import dev.hesstrain.model.Network;
import dev.hesstrain.spec.Spec;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One member's passes: its network's own, through {@link Objective} ({@link InputHessian} picks the
 * closed form, feature-major for flat networks at small d, or the Taylor pairs), which for one
 * member are faster than the replica axis.
 */
final class NetworkPasses extends Passes {
    private final Spec spec;
    private final InputHessian hessian;
    private final HutchinsonNorm estimator;
    private final Objective objective;
    private Objective.Values values;
    private NDArray labels;
    private int rows;

    NetworkPasses(Spec spec, Network network, List<NDArray> leaves, HutchinsonNorm estimator) {
        super(leaves);
        this.spec = spec;
        this.hessian = new InputHessian(network);
        this.estimator = estimator;
        this.objective = estimator == null
                ? new Objective(network, spec.loss(), spec.penalty().lambda(), spec.penalty().norm(), hessian)
                : new Objective(network, spec.loss(), spec.penalty().lambda(), spec.penalty().norm(), hessian, estimator,
                        new SplittableRandom(Seeds.probes(spec.seed())));
    }

    /** [1, B, ...] as [B, ...]. */
    private static NDArray one(NDArray a) {
        Shape s = a.getShape();
        return a.reshape(s.slice(1));
    }

    @Override
    NDArray step(NDManager step, NDArray x, NDArray y, long[] probeSeeds) {
        objective.reseedProbes(new SplittableRandom(probeSeeds[0]));
        NDArray yy = one(y);
        rows = (int) x.getShape().get(1);
        labels = spec.isClassification() ? yy : null;
        values = objective.evaluate(one(x), yy, objective.penalized());
        return values.total();
    }

    @Override
    double[] read() {
        return layout(StepFigures.read(values, rows, labels), values.fro() != null);
    }

    @Override
    double[] evaluate(NDArray x, NDArray y, boolean exact) {
        NDArray yy = one(y);
        NDArray xx = one(x);
        Objective.Values v = exact ? objective.evaluateExact(xx, yy) : objective.evaluate(xx, yy, false);
        return layout(StepFigures.read(v, (int) xx.getShape().get(0), spec.isClassification() ? yy : null), v.fro() != null);
    }

    /** A step's figures in the layout of {@link Passes}, R = 1. */
    private double[] layout(StepFigures f, boolean norms) {
        boolean classes = spec.isClassification();
        double[] s = new double[3 + (norms ? 2 : 0) + (classes ? 1 : 0)];
        s[0] = f.loss();
        s[1] = f.data();
        s[2] = f.penalty();
        if (norms) {
            s[3] = f.froMean();
            s[4] = f.froMax();
        }
        if (classes) {
            s[s.length - 1] = f.correct();
        }
        return s;
    }

    @Override
    int chunk(boolean exact, int members) {
        return exact ? hessian.rowsPerPass(EXACT_PASS_ELEMENTS, EVAL_CHUNK) : EVAL_CHUNK;
    }

    @Override
    boolean estimated() {
        return objective.estimated();
    }

    @Override
    void attach(NDManager step) {
        hessian.attach(step);
    }

    @Override
    public void close() {
        hessian.close();
        if (estimator != null) {
            estimator.close();
        }
    }
}
