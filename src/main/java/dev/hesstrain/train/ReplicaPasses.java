package dev.hesstrain.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.hessian.ClosedForm;
import dev.hesstrain.hessian.HutchinsonNorm;
import dev.hesstrain.hessian.InputHessian;
import dev.hesstrain.model.Loss;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Pairs;
import dev.hesstrain.model.Scopes;
import dev.hesstrain.model.Taylor;
import dev.hesstrain.spec.LossKind;
import dev.hesstrain.spec.Norm;
import dev.hesstrain.spec.Spec;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * R members' passes as one on the replica axis ({@link Network#forward(NDArray, List)}, {@link
 * Network#taylor(NDArray, NDArray, Pairs, List)}, {@link Network#curvature(NDArray, NDArray,
 * NDArray, List, boolean)}): the exact penalty through the replicated closed form, feature-major
 * where a plain run takes that layout and its arrays stay small ({@link #exactPass}), else
 * row-major, or up to d = {@link #TAYLOR_MAX_INPUTS} the replicated Taylor pairs; Hutchinson's
 * probes through the replicated Taylor pass, or the closed form along the probes for a model
 * without it (conv2d, flatten, log_softmax).
 */
final class ReplicaPasses extends Passes {
    /**
     * Up to this many inputs the exact penalty on the replica axis takes the replicated Taylor pairs
     * (d² of them) where the feature-major closed form does not run: the replicated closed form
     * row-major (its products batched over replicas and samples) costs twice the pairs at d = 2. 4
     * sin2pi members, 300 epochs, stacked ms per step in alternating sweeps: 2.8-3.6 with the pairs,
     * 5.4-7.0 with the row-major closed form.
     */
    static final int TAYLOR_MAX_INPUTS = 2;

    /**
     * The most numbers R·B·r·d² (R members, B samples, r rows of all curvature terms, d inputs) for
     * which the exact penalty takes the feature-major closed form: its Frobenius norm forms the
     * Hessians elementwise, an array [r, d, d, R·B] (hessian/ClosedForm), and one far beyond the
     * caches costs more in page faults and memory traffic than the pass saves. Measured on sin2pi
     * members (r = 33, B = 500 or 400; sweeps alternating in one run on 2 cores at load 3-5, ms per
     * member-step of wall time), feature-major against the pass it replaces: d = 2 (Taylor pairs)
     * R = 4 1.39-2.89 against 3.09-3.56, R = 16 0.93-1.72 against 2.75-3.13, R = 64 (4.2 M numbers)
     * 1.53-2.52 against 3.91-4.34 (one round 8.7 against 4.9 under a load spike); d = 4 (row-major)
     * R = 16 (4.2 M) 3.56-3.81 against 4.87-5.55, R = 64 (17 M) 22.4 against 1.68; d = 6 R = 4
     * (2.4 M) 2.98 against 3.80, R = 16 (9.5 M) 52-86 against 6.9-9.0; d = 8 (no elementwise
     * norms) R = 16 14.4 against 10.9.
     */
    static final long FEATURE_MAJOR_MAX_ELEMENTS = 6_000_000;

    /** The pass of the exact penalty on the replica axis. */
    enum Exact {
        /** The replicated Taylor pairs ({@link Network#taylor(NDArray, NDArray, Pairs, List)}). */
        TAYLOR,
        /** The replicated closed form, row-major ({@link Network#curvature(NDArray, NDArray, NDArray, List)}). */
        ROW_MAJOR,
        /** The replicated closed form, feature-major ({@link Network#curvature(NDArray, NDArray, NDArray, List, boolean)}). */
        FEATURE_MAJOR
    }

    /**
     * The exact pass for {@code members} members of {@code template} on batches of {@code batch}
     * samples: the feature-major closed form where a plain run takes it (flat networks, d ≤ {@link
     * ClosedForm#ELEMENTWISE_MAX_DIRECTIONS}) and R·B·r·d² ≤ {@link #FEATURE_MAJOR_MAX_ELEMENTS},
     * else the row-major closed form beyond d = {@link #TAYLOR_MAX_INPUTS}, else the replicated
     * Taylor pairs; the pairs for a network without the closed form. The system property {@code
     * hesstrain.replica_exact} ({@code taylor}, {@code row_major} or {@code feature_major}) overrides
     * it where the network has that pass, for benchmarks that compare them on the real command.
     */
    static Exact exactPass(Network template, InputHessian hessian, long members, long batch) {
        boolean closed = hessian.method() == InputHessian.Method.CLOSED_FORM;
        String p = System.getProperty("hesstrain.replica_exact");
        if (p != null && !p.isBlank()) {
            Exact e = Exact.valueOf(p.trim().toUpperCase(java.util.Locale.ROOT));
            boolean has = switch (e) {
                case TAYLOR -> template.replicatedTaylor();
                case ROW_MAJOR -> closed;
                case FEATURE_MAJOR -> closed && template.featureMajor();
            };
            if (has) {
                return e;
            }
        }
        if (!template.replicatedTaylor()) {
            return Exact.ROW_MAJOR;
        }
        if (!closed) {
            return Exact.TAYLOR;
        }
        long d = template.inputs();
        long rows = template.curvatureWidths().stream().mapToLong(Long::longValue).sum();
        if (template.featureMajor() && d <= ClosedForm.ELEMENTWISE_MAX_DIRECTIONS
                && members * batch * rows * d * d <= FEATURE_MAJOR_MAX_ELEMENTS) {
            return Exact.FEATURE_MAJOR;
        }
        return d > TAYLOR_MAX_INPUTS ? Exact.ROW_MAJOR : Exact.TAYLOR;
    }

    private final int r;
    private final Network template;
    private final List<NDArray> views;
    private final LossKind loss;
    private final Norm norm;
    private final boolean classification;
    private final DataType dtype;
    private final InputHessian hessian;
    private final HutchinsonNorm estimator;
    private final NDArray lambda;
    private final NDArray eye;
    private final boolean curvature;
    private Values values;
    /** The exact pass for batches of {@link #exactBatch} samples ({@link #exactPass}). */
    private Exact exact;
    private long exactBatch = -1;

    ReplicaPasses(List<Spec> specs, Network template, List<NDArray> views, HutchinsonNorm estimator, NDManager manager,
            double[] lambdas) {
        super(views);
        this.r = specs.size();
        this.template = template;
        this.views = views;
        Spec first = specs.get(0);
        this.loss = first.loss();
        this.norm = first.penalty().norm();
        this.classification = first.isClassification();
        this.dtype = template.dtype();
        this.estimator = estimator;
        this.hessian = new InputHessian(template);
        this.curvature = Arrays.stream(lambdas).anyMatch(l -> l > 0);
        this.lambda = manager.create(lambdas, new Shape(r, 1)).toType(dtype, false);
        this.eye = manager.eye(template.inputs()).toType(dtype, false).expandDims(1);
    }

    @Override
    NDArray step(NDManager step, NDArray x, NDArray y, long[] probeSeeds) {
        NDArray dirs = null;
        if (curvature && estimator != null) {
            NDList parts = new NDList();
            long b = x.getShape().get(1);
            for (long seed : probeSeeds) {
                parts.add(estimator.directions(step, (int) b, new SplittableRandom(seed).split()));
            }
            dirs = NDArrays.stack(parts);
        }
        values = evaluate(x, y, curvature, curvature && hessian.frobeniusIsCheap(norm), dirs);
        return values.total().sum();
    }

    @Override
    double[] read() {
        return values.read();
    }

    @Override
    double[] evaluate(NDArray x, NDArray y, boolean exact) {
        return evaluate(x, y, exact, exact, null).read();
    }

    @Override
    int chunk(boolean exact, int members) {
        return exact ? Math.max(1, hessian.rowsPerPass(EXACT_PASS_ELEMENTS, EVAL_CHUNK) / members) : EVAL_CHUNK;
    }

    @Override
    boolean estimated() {
        return estimator != null;
    }

    @Override
    void attach(NDManager step) {
        template.attach(step);
        super.attach(step);
        Scopes.tempAttach(step, lambda, eye);
        hessian.attach(step);
        if (estimator != null) {
            estimator.pairs().attach(step);
        }
    }

    /** One evaluation of all members: per-member [R] arrays. */
    private record Values(NDArray total, NDArray data, NDArray penalty, NDArray froMean, NDArray froMax,
            NDArray correct) {
        /** [total..., data..., penalty..., froMean..., froMax..., correct...] in one copy to Java. */
        double[] read() {
            NDList parts = new NDList(total, data, penalty);
            if (froMean != null) {
                parts.add(froMean);
                parts.add(froMax);
            }
            if (correct != null) {
                parts.add(correct);
            }
            return NDArrays.concat(parts).toType(DataType.FLOAT64, false).toDoubleArray();
        }
    }

    /** For classification, how many of each member's rows its model gets right: [R] of the model's dtype. */
    private NDArray correct(NDArray out, NDArray labels) {
        return classification ? out.argMax(-1).eq(labels).sum(new int[] {1}).toType(dtype, false) : null;
    }

    /**
     * The members' objectives on x [R, B, d] and y [R, B, ...]: with {@code withCurvature} the
     * penalty λ_r · mean norm (exact, or estimated along {@code dirs} [R, K, B, d] when given) and,
     * when exact and {@code withFrobenius}, the Frobenius norms' per-member mean and max.
     */
    private Values evaluate(NDArray x, NDArray y, boolean withCurvature, boolean withFrobenius, NDArray dirs) {
        long b = x.getShape().get(1);
        if (!withCurvature) {
            NDArray out = template.forward(x, views);
            NDArray dataLoss = Loss.perReplica(loss, out, y);
            NDArray zero = dataLoss.zerosLike();
            return new Values(dataLoss, dataLoss, zero, null, null, correct(out, y));
        }
        NDArray out;
        NDArray perSample;
        NDArray froSquared = null;
        if (dirs == null && b != exactBatch) {
            exact = exactPass(template, hessian, r, b);
            exactBatch = b;
        }
        if (dirs == null && exact != Exact.TAYLOR) {
            ClosedForm.Norms norms = hessian.closedForm(x, hessian.unitDirections(), views, exact == Exact.FEATURE_MAJOR);
            out = byMember(norms.value(), b);
            perSample = norms.get(norm).reshape(r, b);
            if (withFrobenius) {
                froSquared = norm == Norm.FROBENIUS ? perSample : norms.get(Norm.FROBENIUS).reshape(r, b);
            }
        } else if (dirs != null && !template.replicatedTaylor()) {
            // probes through the closed form: u_aᵀ H v_b from the Jacobian rows along the probes
            ClosedForm.Norms norms = hessian.closedForm(x, dirs, views);
            out = byMember(norms.value(), b);
            perSample = estimator.estimate(new Taylor(norms.value(), null, norms.directional(estimator.pairs()))).reshape(r, b);
        } else {
            Pairs pairs = dirs == null ? hessian.pairs() : estimator.pairs();
            Taylor t = template.taylor(x, dirs == null ? eye : dirs, pairs, views);
            out = t.value();
            Taylor flat = flatReplicas(t);
            if (dirs == null) {
                perSample = hessian.norm(flat, norm).reshape(r, b);
                if (withFrobenius) {
                    froSquared = norm == Norm.FROBENIUS ? perSample : hessian.norm(flat, Norm.FROBENIUS).reshape(r, b);
                }
            } else {
                perSample = estimator.estimate(flat).reshape(r, b);
            }
        }
        NDArray dataLoss = Loss.perReplica(loss, out, y);
        NDArray froMean = null;
        NDArray froMax = null;
        if (froSquared != null) {
            NDArray fro = froSquared.sqrt();
            froMean = fro.mean(new int[] {1});
            froMax = fro.max(new int[] {1});
        }
        NDArray pen = perSample.mean(new int[] {1}).mul(lambda.reshape(r));
        return new Values(dataLoss.add(pen), dataLoss, pen, froMean, froMax, correct(out, y));
    }

    /** The outputs [R·B, ...] of a pass of R·B samples (replica-major) as [R, B, ...]. */
    private NDArray byMember(NDArray value, long b) {
        return value.reshape(new Shape(r, b).addAll(value.getShape().slice(1)));
    }

    /** A replicated Taylor pass seen as one of R·N samples, for the per-sample norms of one network. */
    private static Taylor flatReplicas(Taylor t) {
        Shape v = t.value().getShape(); // [R, N, o]
        NDArray value = t.value().reshape(v.get(0) * v.get(1), v.get(2));
        NDArray hess = null;
        if (t.hess() != null) {
            Shape h = t.hess().getShape(); // [R, P, N, o]
            hess = t.hess().transpose(1, 0, 2, 3).reshape(h.get(1), h.get(0) * h.get(2), h.get(3));
        }
        return new Taylor(value, null, hess);
    }

    @Override
    public void close() {
        hessian.close();
        if (estimator != null) {
            estimator.close();
        }
    }
}
