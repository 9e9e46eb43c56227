package dev.hesstrain.hessian;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.model.Backprop;
import dev.hesstrain.model.Layer;
import dev.hesstrain.model.LogSoftmax;
import dev.hesstrain.model.Loss;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Scopes;
import dev.hesstrain.spec.LossKind;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Parameter curvature by backpropagation (BackPACK's DiagHessian, DiagGGN and DiagGGN-MC): the
 * Hessian of each sample's loss w.r.t. each layer's output, H_z, is carried from the loss down
 * the layers, and the diagonal of every parameter block follows from it without forming the block.
 *
 * <ul>
 *   <li>The loss starts it: H_f = S Sᵀ per sample with S the loss factor (mse: √(2/(N·O)) I;
 *       cross-entropy: √(p_c/N)(e_c − p) for each class c; a model ending in log_softmax with nll
 *       is cross-entropy on the logits, the split of BackPACK and curvlinops). A Monte Carlo
 *       Fisher replaces S by K sampled columns per point: (p − e_ỹ)/√(N·K) with ỹ ~ p, or
 *       √(2/(N·O·K)) ε with ε ~ N(0, I) for mse.</li>
 *   <li>Below a layer with Jacobian J: H_in = Jᵀ H_z J (the layer's {@link Backprop.Step#back});
 *       below an activation the Hessian also gains diag(σ''(z) ⊙ g), g the gradient w.r.t. the
 *       activation's output (its {@link Backprop.Step#residual}). The GGN drops those terms.</li>
 *   <li>H_z is carried as signed columns [c, N, ...] or densely [N, m, m], chosen at every layer:
 *       dense where there are more columns than features and every layer below is flat.</li>
 * </ul>
 *
 * The GGN part (the loss factor's columns) and the residual part are carried separately, so that
 * one pass gives both diagonals and their split. Products with the GGN (or Fisher) are Jᵀ(H_f(J
 * v)): the layers' forward-mode tangents, the loss factor, and their vector-Jacobian products.
 * Every array is in the network's dtype; results are float64.
 */
public final class ParamCurvature implements AutoCloseable {
    /** The diagonals of one pass, in {@link Network#parameters()} order, flat. */
    public record Diagonals(double[] ggn, double[] residual, double value, double[] gradient) {
        /** The Hessian's diagonal: GGN plus residual (null when the residual was not carried). */
        public double[] hessian() {
            if (residual == null) {
                return null;
            }
            double[] h = ggn.clone();
            for (int i = 0; i < h.length; i++) {
                h[i] += residual[i];
            }
            return h;
        }
    }

    private final Network net;
    private final LossKind loss;
    private final int n;
    private final double[] y;
    private final int samplesPerPoint;
    /** Fisher's sampled labels [n·K] (classification) or Gaussian draws [K·n·O] (mse); null for the exact factor. */
    private final double[] draws;
    private final int top;
    private final NDManager manager;
    private final NDArray xs;
    private final NDArray targets;
    private final List<ParamHessian.Block> layout;
    private long products;

    /**
     * @param loss the loss, or null for the mean of a single output (no loss factor)
     * @param samplesPerPoint 0 for the exact loss factor (Hessian, GGN); K &gt; 0 for the Monte Carlo
     *     Fisher with K sampled labels per point, drawn once from {@code seed}
     */
    public ParamCurvature(Network net, double[] x, int n, double[] y, LossKind loss, int samplesPerPoint, long seed) {
        String why = refusal(net, loss);
        if (why != null) {
            throw new IllegalArgumentException(why);
        }
        if (samplesPerPoint < 0 || (samplesPerPoint > 0 && loss == null)) {
            throw new IllegalArgumentException("the Fisher needs a loss and samples per point >= 1");
        }
        this.net = net;
        this.loss = loss;
        this.n = n;
        this.y = y;
        this.samplesPerPoint = samplesPerPoint;
        List<Layer> layers = net.layers();
        this.top = layers.get(layers.size() - 1) instanceof LogSoftmax ? layers.size() - 1 : layers.size();
        this.layout = ParamHessian.layout(net);
        this.manager = net.manager().newSubManager();
        this.xs = manager.create(x, new Shape(n).addAll(net.sampleShape())).toType(net.dtype(), false);
        if (loss == null) {
            this.targets = null;
        } else if (loss.classification()) {
            if (y == null || y.length != n) {
                throw new IllegalArgumentException(loss + " needs one label per point");
            }
            this.targets = manager.create(y, new Shape(n)).toType(DataType.INT64, false);
        } else {
            if (y == null || y.length != (long) n * net.outputs()) {
                throw new IllegalArgumentException("mse needs " + net.outputs() + " target(s) per point");
            }
            this.targets = manager.create(y, new Shape(n, net.outputs())).toType(net.dtype(), false);
        }
        this.draws = samplesPerPoint == 0 ? null : draws(seed);
    }

    /**
     * Why the pass cannot take this model, in one line, or null: a layer without its part in the
     * pass, or log_softmax anywhere but last before cross_entropy or nll.
     */
    public static String refusal(Network net, LossKind loss) {
        List<Layer> layers = net.layers();
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            if (l instanceof LogSoftmax) {
                if (i != layers.size() - 1) {
                    return "log_softmax at layer " + i + " is not the last layer (the pass takes it only as the end of "
                            + "a classifier, cross-entropy on its logits)";
                }
                if (loss == null || !loss.classification()) {
                    return "log_softmax with " + (loss == null ? "the output itself" : loss)
                            + " (the pass takes it only with nll or cross_entropy, as cross-entropy on its logits)";
                }
            } else if (!(l instanceof Backprop.Layer)) {
                return "layer " + i + " (" + l.getClass().getSimpleName() + ") has no curvature backpropagation";
            }
        }
        if (net.parameterCount() == 0) {
            return "the model has no parameters";
        }
        return null;
    }

    public int dim() {
        return (int) net.parameterCount();
    }

    public List<ParamHessian.Block> layout() {
        return layout;
    }

    /** GGN (or Fisher) products so far. */
    public long products() {
        return products;
    }

    public int samplesPerPoint() {
        return samplesPerPoint;
    }

    private double[] draws(long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int k = samplesPerPoint;
        if (!loss.classification()) {
            double[] e = new double[k * n * net.outputs()];
            for (int i = 0; i < e.length; i++) {
                e[i] = rng.nextGaussian();
            }
            return e;
        }
        // labels from p = softmax(logits) at these weights
        double[] p;
        try (NDManager m = manager.newSubManager()) {
            net.attach(m);
            NDArray h = xs;
            for (int i = 0; i < top; i++) {
                h = net.layers().get(i).forward(h);
            }
            p = h.softmax(-1).toType(DataType.FLOAT64, false).toDoubleArray();
        }
        int o = net.outputs();
        double[] labels = new double[k * n];
        for (int s = 0; s < k; s++) {
            for (int i = 0; i < n; i++) {
                double u = rng.nextDouble();
                int c = 0;
                double acc = p[i * o];
                while (c < o - 1 && u >= acc) {
                    c++;
                    acc += p[i * o + c];
                }
                labels[s * n + i] = c;
            }
        }
        return labels;
    }

    /**
     * The seconds of one gradient of the same loss as training computes it (forward, loss, one
     * autograd backward pass on the network's parameters): the least of {@code rounds}, after one
     * untimed round. The unit in which the pass's cost is quoted ("gradient-costs").
     */
    public static double gradientSeconds(Network net, double[] x, int n, double[] y, LossKind loss, int rounds) {
        double best = Double.POSITIVE_INFINITY;
        for (int r = 0; r <= rounds; r++) {
            try (NDManager step = net.manager().newSubManager()) {
                net.attach(step);
                NDArray xs = step.create(x, new Shape(n).addAll(net.sampleShape())).toType(net.dtype(), false);
                NDArray ys = loss == null ? null : loss.classification()
                        ? step.create(y, new Shape(n)).toType(DataType.INT64, false)
                        : step.create(y, new Shape(n, net.outputs())).toType(net.dtype(), false);
                for (dev.hesstrain.model.Parameter p : net.parameters()) {
                    p.array().setRequiresGradient(true);
                }
                long t0 = System.nanoTime();
                try (ai.djl.training.GradientCollector gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                    NDArray out = net.forward(xs);
                    NDArray total = loss == null ? out.mean() : Loss.of(loss, out, ys);
                    dev.hesstrain.model.Torch.backward(total, false);
                }
                double sec = (System.nanoTime() - t0) / 1e9;
                if (r > 0) {
                    best = Math.min(best, sec);
                }
                for (dev.hesstrain.model.Parameter p : net.parameters()) {
                    dev.hesstrain.model.Torch.zeroGrad(p.array());
                    p.array().setRequiresGradient(false);
                }
            }
        }
        return best;
    }

    // ---- the forward sweep ---------------------------------------------------------------------

    /** The steps of layers 0 .. top-1 (a final log_softmax is left to the loss) on x, in {@code m}. */
    private List<Backprop.Step> forward(NDManager m) {
        net.attach(m);
        xs.tempAttach(m);
        if (targets != null) {
            targets.tempAttach(m);
        }
        List<Backprop.Step> steps = new ArrayList<>(top);
        NDArray h = xs;
        for (int i = 0; i < top; i++) {
            Backprop.Step s = ((Backprop.Layer) net.layers().get(i)).backprop(h);
            steps.add(s);
            h = s.value();
        }
        return steps;
    }

    /** The loss at the model's top value f [N, O] (logits for a classifier): its value and gradient g [N, O]. */
    private NDArray[] lossAndGradient(NDArray f) {
        int o = net.outputs();
        if (loss == null) {
            return new NDArray[] {f.mean(), f.onesLike().div(n)};
        }
        if (loss.classification()) {
            NDArray logp = f.logSoftmax(-1);
            NDArray onehot = targets.oneHot(o, f.getDataType());
            NDArray value = logp.mul(onehot).sum().neg().div(n);
            return new NDArray[] {value, logp.exp().sub(onehot).div(n)};
        }
        NDArray r = f.sub(targets);
        return new NDArray[] {Loss.MSE.value(f, targets), r.mul(2.0 / ((double) n * o))};
    }

    /** The loss factor's columns [c, N, O] at the top value f: H_f = Σ_c S_c S_cᵀ per sample (or its Monte Carlo version). */
    private NDArray factor(NDArray f, boolean sampled) {
        NDManager m = f.getManager();
        int o = net.outputs();
        DataType dt = f.getDataType();
        if (sampled && draws != null) {
            int k = samplesPerPoint;
            if (loss.classification()) {
                NDArray p = f.softmax(-1).expandDims(0); // [1, N, O]
                NDArray e = m.create(draws, new Shape(k, n)).toType(DataType.INT64, false).oneHot(o, dt);
                return p.sub(e).div(Math.sqrt((double) n * k));
            }
            return m.create(draws, new Shape(k, n, o)).toType(dt, false).mul(Math.sqrt(2.0 / ((double) n * o * k)));
        }
        NDArray eye = m.eye(o).toType(dt, false).expandDims(1); // [O, 1, O]
        if (loss.classification()) {
            NDArray p = f.softmax(-1); // [N, O]
            NDArray scale = p.div(n).sqrt().transpose().expandDims(2); // [O, N, 1]
            return eye.sub(p.expandDims(0)).mul(scale);
        }
        return eye.broadcast(new Shape(o, n, o)).mul(Math.sqrt(2.0 / ((double) n * o)));
    }

    // ---- the diagonals ---------------------------------------------------------------------------

    /** H_z of one part, as signed columns or dense. */
    private static final class Carried {
        NDArray cols;
        NDArray signs;
        NDArray dense;
        /** Only the per-sample diagonal [N, m], where nothing below needs more. */
        NDArray diag;

        static Carried columns(NDArray cols, NDArray signs) {
            Carried c = new Carried();
            c.cols = cols;
            c.signs = signs;
            return c;
        }

        /** Moves the arrays of each part to {@code m}. */
        static void attach(NDManager m, Carried... parts) {
            for (Carried c : parts) {
                if (c != null) {
                    for (NDArray a : new NDArray[] {c.cols, c.signs, c.dense, c.diag}) {
                        if (a != null) {
                            a.attach(m);
                        }
                    }
                }
            }
        }
    }

    /**
     * One pass: the GGN (or Fisher) diagonal and, with {@code residual}, the residual part of the
     * Hessian's diagonal; with {@code gradient}, also the loss gradient (the value is NaN when
     * neither the residual nor the gradient was asked for: the GGN needs no loss value).
     */
    public Diagonals diagonals(boolean residual, boolean gradient) {
        int p = dim();
        double[] ggn = new double[p];
        double[] res = residual ? new double[p] : null;
        double[] grad = gradient ? new double[p] : null;
        boolean[] dense = denseAllowed();
        int lowest = lowestWithParameters();
        boolean[] diagonalOnlyBelow = diagonalOnlyBelow(lowest);
        try (NDManager m = manager.newSubManager()) {
            List<Backprop.Step> steps = forward(m);
            NDArray f = steps.isEmpty() ? xs : steps.get(steps.size() - 1).value();
            // the loss's value and gradient only where needed: the residual's g, or asked for
            NDArray[] lg = residual || gradient ? lossAndGradient(f) : null;
            double value = lg == null ? Double.NaN : lg[0].toType(DataType.FLOAT64, false).getDouble();
            NDArray g = lg == null ? f : lg[1]; // f: a placeholder carried along, never read
            Carried gn = loss == null ? null : Carried.columns(factor(f, true), null);
            Carried rs = null;
            int block = layout.size();
            for (int l = steps.size() - 1; l >= lowest; l--) {
                // each layer's arrays in a manager of its own, so that only the carried parts outlive it
                try (NDManager lm = m.newSubManager()) {
                    net.attach(lm);
                    Carried.attach(lm, gn, rs);
                    g.attach(lm);
                    Backprop.Step s = steps.get(l);
                    int count = net.layers().get(l).parameters().size();
                    block -= count;
                    if (count > 0) {
                        add(ggn, block, diagonal(s, gn));
                        if (residual) {
                            add(res, block, diagonal(s, rs));
                        }
                        if (gradient) {
                            List<NDArray> v = s.vjp(g.expandDims(0));
                            add(grad, block, v.stream().map(a -> a.squeeze(0)).toList());
                        }
                    }
                    if (l == lowest) {
                        break;
                    }
                    boolean diagonalOnly = diagonalOnlyBelow[l];
                    gn = back(s, gn, diagonalOnly);
                    if (residual) {
                        rs = back(s, rs, diagonalOnly);
                        NDArray r = s.residual(g);
                        if (r != null && rs == null && diagonalOnly) {
                            rs = new Carried();
                            rs.diag = r.reshape(r.getShape().get(0), -1);
                        } else if (r != null) {
                            rs = plusDiagonal(rs, r, dense[l - 1]);
                        }
                    }
                    if (lg != null) {
                        g = s.back(g.expandDims(0)).squeeze(0);
                    }
                    gn = choose(gn, dense[l - 1]);
                    rs = choose(rs, dense[l - 1]);
                    Carried.attach(m, gn, rs);
                    g.attach(m);
                }
            }
            return new Diagonals(ggn, res, value, grad);
        }
    }

    /** The index of the lowest layer with parameters. */
    private int lowestWithParameters() {
        for (int l = 0; l < top; l++) {
            if (!net.layers().get(l).parameters().isEmpty()) {
                return l;
            }
        }
        return top;
    }

    /**
     * Per layer l: whether below its input only the per-sample diagonal of H is read: the layers
     * from l − 1 down to the lowest with parameters are elementwise activations, and that lowest
     * one is a dense layer, whose parameter diagonal needs only diag(H_z). The wide net's
     * 768-wide second layer then gives diag(Wᵀ H W) in one product instead of Wᵀ H W in two.
     */
    private boolean[] diagonalOnlyBelow(int lowest) {
        boolean[] ok = new boolean[top];
        if (lowest >= top || !(net.layers().get(lowest) instanceof dev.hesstrain.model.Dense)) {
            return ok;
        }
        for (int l = lowest + 1; l < top; l++) {
            ok[l] = true;
            if (!(net.layers().get(l) instanceof dev.hesstrain.model.Activation)) {
                // l itself may map to a diagonal; nothing above it may
                for (int j = l + 1; j < top; j++) {
                    ok[j] = false;
                }
                break;
            }
        }
        return ok;
    }

    /** Per layer l: whether H may be carried densely at its output (layers 0..l flat, on flat samples). */
    private boolean[] denseAllowed() {
        boolean[] ok = new boolean[top];
        Shape s = net.sampleShape();
        boolean all = true;
        for (int l = 0; l < top; l++) {
            Layer layer = net.layers().get(l);
            all &= s.dimension() == 1 && ((Backprop.Layer) layer).flat();
            s = layer.outputShape(s);
            ok[l] = all && s.dimension() == 1;
        }
        return ok;
    }

    private static List<NDArray> diagonal(Backprop.Step s, Carried c) {
        if (c == null) {
            return null;
        }
        if (c.diag != null) {
            return s.diagonalFromDiagonal(c.diag);
        }
        return c.dense != null ? s.diagonalDense(c.dense) : s.diagonal(c.cols, c.signs);
    }

    /** H carried below layer s; with {@code diagonalOnly}, a dense H becomes its diagonal (nothing below reads more). */
    private static Carried back(Backprop.Step s, Carried c, boolean diagonalOnly) {
        if (c == null) {
            return null;
        }
        if (c.diag != null) {
            Carried d = new Carried();
            d.diag = s.backDiagonal(c.diag);
            return d;
        }
        if (c.dense != null && diagonalOnly) {
            Carried d = new Carried();
            d.diag = s.backDenseDiagonal(c.dense);
            return d;
        }
        if (c.dense != null) {
            Carried d = new Carried();
            d.dense = s.backDense(c.dense);
            return d;
        }
        return Carried.columns(s.back(c.cols), c.signs);
    }

    /**
     * H + diag(r) for r [N, ...]: onto the dense diagonal where H may be dense (as it is made dense
     * first: m more columns would outnumber the features), else m more signed columns √|r| e_i.
     */
    private static Carried plusDiagonal(Carried c, NDArray r, boolean denseAllowed) {
        Shape rs = r.getShape();
        long nn = rs.get(0);
        long m = rs.size() / nn;
        if (c != null && c.diag != null) {
            c.diag = c.diag.add(r.reshape(nn, m));
            return c;
        }
        if (denseAllowed && (c == null || c.dense == null)) {
            Carried d = c == null ? new Carried() : toDense(c);
            if (c == null) {
                d.dense = r.getManager().zeros(new Shape(nn, m, m), r.getDataType());
            }
            c = d;
        }
        if (c != null && c.dense != null) {
            // in place on the diagonal, a strided view of the flat matrices (the dense part is this layer's own)
            NDArray flat = c.dense.reshape(nn, m * m);
            NDIndex diagonal = new NDIndex(":, ::" + (m + 1));
            flat.set(diagonal, flat.get(diagonal).add(r.reshape(nn, m)));
            return c;
        }
        NDArray eye = r.getManager().eye((int) m).toType(r.getDataType(), false);
        NDArray cols = eye.reshape(new Shape(m, 1).addAll(rs.slice(1))).mul(r.abs().sqrt().expandDims(0));
        NDArray signs = r.sign().reshape(nn, m).transpose();
        if (c == null) {
            return Carried.columns(cols, signs);
        }
        NDArray old = c.signs != null ? c.signs : r.getManager().ones(new Shape(c.cols.getShape().get(0), nn), r.getDataType());
        return Carried.columns(c.cols.concat(cols, 0), old.concat(signs, 0));
    }

    /** Dense where allowed and there are more columns than features. */
    private static Carried choose(Carried c, boolean denseAllowed) {
        if (c == null || c.dense != null || c.diag != null || !denseAllowed) {
            return c;
        }
        Shape s = c.cols.getShape();
        long m = s.size() / (s.get(0) * s.get(1));
        if (s.get(0) <= m) {
            return c;
        }
        return toDense(c);
    }

    /** Signed columns [c, N, m] as dense [N, m, m]. */
    private static Carried toDense(Carried c) {
        NDArray right = c.signs == null ? c.cols : c.cols.mul(c.signs.expandDims(2));
        Carried d = new Carried();
        d.dense = c.cols.transpose(1, 2, 0).matMul(right.transpose(1, 0, 2)); // [N, m, c] x [N, c, m]
        return d;
    }

    private void add(double[] into, int block, List<NDArray> parts) {
        if (parts == null) {
            return;
        }
        for (int i = 0; i < parts.size(); i++) {
            NDArray a = parts.get(i);
            int offset = (int) layout.get(block + i).offset();
            if (a.getDataType() == DataType.FLOAT32) {
                float[] v = a.toFloatArray();
                for (int j = 0; j < v.length; j++) {
                    into[offset + j] += v[j];
                }
            } else {
                double[] v = a.toType(DataType.FLOAT64, false).toDoubleArray();
                for (int j = 0; j < v.length; j++) {
                    into[offset + j] += v[j];
                }
            }
        }
    }

    // ---- GGN (or Fisher) products ------------------------------------------------------------

    /**
     * G·V for V [P, k] (any float dtype): Jᵀ(H_f(J V)), with J V by the layers' tangents (forward
     * mode), H_f by the loss factor (the Fisher's samples, if any), and Jᵀ by their vector-Jacobian
     * products: [P, k] in float64, attached to V's manager.
     */
    public NDArray multiply(NDArray v) {
        if (loss == null) {
            throw new IllegalArgumentException("the output itself has no Gauss-Newton matrix");
        }
        return product(v, false);
    }

    /**
     * H·V for V [P, k]: the exact Hessian-vector product by forward-over-reverse (Pearlmutter's
     * R-operator) through the layers: the GGN's Jᵀ(H_f(J V)) plus, at every layer, the change of
     * the backpropagated gradient with the parameters and with the input along their tangents
     * (σ''(z) ⊙ g ⊙ dz below an activation). No autograd graph: no reference cycle, so it can run
     * in a loop ({@link Sharpness}).
     */
    public NDArray hessianMultiply(NDArray v) {
        return product(v, true);
    }

    /**
     * What every product needs and no vector changes, built on the first product and kept until
     * {@link #close} (the weights are fixed for this object's life): the layers' forward steps, the
     * top value, the loss factor, and for Hessian products the loss gradient at every layer's output
     * with each activation's residual σ''⊙g. A product then runs only the tangents and the backward
     * sweep: about half the ops of a pass that builds them afresh. Its arrays live in their own
     * manager and are lent to each product's manager, so that what a product makes is freed with it.
     */
    private final class Prepared {
        final NDManager home = manager.newSubManager();
        final List<Backprop.Step> steps = forward(home);
        final NDArray f = steps.get(steps.size() - 1).value();
        /** The exact factor's scale where H_f is a multiple of the identity (mse): a 0-d array, else null. */
        NDArray identityScale;
        NDArray exactFactor;
        NDArray sampledFactor;
        /** grads[l]: the loss gradient w.r.t. layer l's output; residuals[l]: its σ''⊙g term (null: none). */
        NDArray[] grads;
        NDArray[] residuals;
        List<NDArray> held = List.of();

        /** Makes what a product of this kind needs and is not yet made. */
        Prepared need(boolean hessian, boolean sampled) {
            boolean made = false;
            boolean fisher = sampled && draws != null;
            if (loss != null) {
                if (fisher) {
                    if (sampledFactor == null) {
                        sampledFactor = factor(f, true);
                        made = true;
                    }
                } else if (!loss.classification()) {
                    if (identityScale == null) { // mse: H_f = 2/(N·O) I
                        identityScale = home.create(2.0 / ((double) n * net.outputs())).toType(net.dtype(), false);
                        made = true;
                    }
                } else if (exactFactor == null) {
                    exactFactor = factor(f, false);
                    made = true;
                }
            }
            if (held.isEmpty()) {
                steps.forEach(Backprop.Step::keep);
                made = true;
            }
            if (hessian && grads == null) {
                grads = new NDArray[top];
                residuals = new NDArray[top];
                NDArray g = lossAndGradient(f)[1];
                int lowest = lowestWithParameters();
                for (int l = steps.size() - 1; l >= lowest; l--) {
                    grads[l] = g;
                    if (l > lowest) {
                        residuals[l] = steps.get(l).residual(g);
                        g = steps.get(l).back(g.expandDims(0)).squeeze(0);
                    }
                }
                made = true;
            }
            if (made) {
                held = home.getManagedArrays();
            }
            return this;
        }

        /** Lends every array of this state (and the network's) to a product's manager. */
        void lend(NDManager m) {
            net.attach(m);
            for (NDArray a : held) {
                Scopes.tempAttach(m, a);
            }
        }

        /** H_f u per sample for tangents u [k, N, O]. */
        NDArray lossCurvature(NDArray jv, boolean sampled) {
            if (loss == null) {
                return jv.zerosLike();
            }
            boolean fisher = sampled && draws != null;
            if (!fisher && identityScale != null) {
                return jv.mul(identityScale);
            }
            NDArray s = fisher ? sampledFactor : exactFactor; // [c, N, O]
            // H_f u = Σ_c S_c (S_cᵀ u) per sample
            NDArray coef = jv.expandDims(1).mul(s.expandDims(0)).sum(new int[] {3}); // [k, c, N]
            return coef.expandDims(3).mul(s.expandDims(0)).sum(new int[] {1}); // [k, N, O]
        }

        void close() {
            home.close();
        }
    }

    private Prepared prepared;

    private NDArray product(NDArray v, boolean hessian) {
        Shape vs = v.getShape();
        int p = dim();
        if (vs.dimension() != 2 || vs.get(0) != p) {
            throw new IllegalArgumentException("a block of shape " + vs + " for dimension " + p);
        }
        int k = (int) vs.get(1);
        NDManager home = v.getManager();
        if (prepared == null) {
            prepared = new Prepared();
        }
        Prepared pre = prepared.need(hessian, !hessian);
        List<Backprop.Step> steps = pre.steps;
        try (NDManager m = pre.home.newSubManager()) {
            pre.lend(m);
            v.tempAttach(m);
            NDArray vt = v.toType(net.dtype(), false).transpose(); // [k, P]
            long[] cuts = new long[layout.size() - 1];
            for (int i = 1; i < layout.size(); i++) {
                cuts[i - 1] = layout.get(i).offset();
            }
            ai.djl.ndarray.NDList slices = vt.split(cuts, 1);
            List<List<NDArray>> tangents = new ArrayList<>();
            int block = 0;
            for (int l = 0; l < top; l++) {
                List<NDArray> t = new ArrayList<>();
                for (int i = 0; i < net.layers().get(l).parameters().size(); i++) {
                    ParamHessian.Block b = layout.get(block);
                    t.add(slices.get(block++).reshape(new Shape(k).addAll(new Shape(b.shape()))));
                }
                tangents.add(t);
            }
            NDArray[] inputs = new NDArray[top]; // the tangent of each layer's input (null below the first parameters)
            NDArray jv = null;
            for (int l = 0; l < top; l++) {
                List<NDArray> t = tangents.get(l);
                inputs[l] = jv;
                if (jv == null && t.isEmpty()) {
                    continue;
                }
                jv = steps.get(l).tangent(jv, t);
            }
            NDArray u = pre.lossCurvature(jv, !hessian);
            NDArray[] out = new NDArray[layout.size()];
            block = layout.size();
            int lowest = lowestWithParameters();
            for (int l = steps.size() - 1; l >= lowest; l--) {
                Backprop.Step st = steps.get(l);
                int count = net.layers().get(l).parameters().size();
                block -= count;
                NDArray g = hessian ? pre.grads[l] : null;
                List<NDArray> pg = st.vjp(u);
                // the change of the parameters' gradient with the input: only the parameters it reaches (not a bias)
                List<NDArray> pt = hessian && inputs[l] != null ? st.vjpTangent(g, inputs[l]) : List.of();
                for (int i = 0; i < count; i++) {
                    NDArray c = i < pt.size() ? pg.get(i).add(pt.get(i)) : pg.get(i);
                    out[block + i] = c.reshape(k, -1);
                }
                if (l > lowest) {
                    NDArray next = st.back(u);
                    if (hessian) {
                        if (count > 0) {
                            next = next.add(st.backTangent(g, tangents.get(l)));
                        }
                        NDArray r = inputs[l] == null ? null : pre.residuals[l];
                        if (r != null) {
                            next = next.add(r.mul(inputs[l]));
                        }
                    }
                    u = next;
                }
            }
            NDArray result = ai.djl.ndarray.NDArrays.concat(new ai.djl.ndarray.NDList(out), 1).transpose()
                    .toType(DataType.FLOAT64, false);
            products += k;
            result.attach(home);
            return result;
        }
    }

    @Override
    public void close() {
        if (prepared != null) {
            prepared.close();
        }
        manager.close();
    }
}
