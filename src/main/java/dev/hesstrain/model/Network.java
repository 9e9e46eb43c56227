package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.spec.LayerSpec;
import dev.hesstrain.spec.ModelSpec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A sequential network built from a {@link ModelSpec}: the value forward pass and the Taylor-mode
 * pass that carries exact input derivatives. Parameters live in the network's own manager and are
 * named as in the equivalent {@code torch.nn.Sequential}.
 */
public final class Network implements AutoCloseable {
    private final NDManager manager;
    private final List<Layer> layers;
    private final List<Parameter> parameters;
    private final Shape sampleShape;
    private final int inputs;
    private final int outputs;
    private final DataType dtype;

    private final Constants constants;
    private final NDArray flat;

    private Network(NDManager manager, List<Layer> layers, List<Parameter> parameters, Shape sampleShape,
            int outputs, DataType dtype, Constants constants, NDArray flat) {
        this.constants = constants;
        this.flat = flat;
        this.manager = manager;
        this.layers = layers;
        this.parameters = parameters;
        this.sampleShape = sampleShape;
        this.inputs = (int) sampleShape.size();
        this.outputs = outputs;
        this.dtype = dtype;
    }

    /**
     * Builds the network for samples of {@code inputs} features (shaped by the spec's input_shape
     * if given), with PyTorch's default initialisation drawn from {@code seed}.
     */
    public static Network build(ModelSpec spec, int inputs, DataType dtype, NDManager parent, long seed) {
        Shape shape = spec.inputShape() == null
                ? new Shape(inputs)
                : new Shape(spec.inputShape().stream().mapToLong(Integer::longValue).toArray());
        if (shape.size() != inputs) {
            throw new IllegalArgumentException(
                    "model.input_shape " + shape + " holds " + shape.size() + " features but the data have " + inputs);
        }
        NDManager manager = parent.newSubManager();
        Constants constants = new Constants(manager, dtype);
        SplittableRandom rng = new SplittableRandom(seed);
        List<Layer> layers = new ArrayList<>();
        List<Parameter> params = new ArrayList<>();
        Shape current = shape;
        try {
            for (int i = 0; i < spec.layers().size(); i++) {
                LayerSpec ls = spec.layers().get(i);
                Layer layer = switch (ls.type()) {
                    case LINEAR -> {
                        if (current.dimension() != 1) {
                            throw new IllegalArgumentException("layer " + i + " (linear) gets inputs shaped "
                                    + current + "; add a flatten layer before it");
                        }
                        long in = current.get(0);
                        yield new Dense(
                                uniform(manager, rng, new Shape(ls.units(), in), in, dtype),
                                ls.bias() ? uniform(manager, rng, new Shape(ls.units()), in, dtype) : null);
                    }
                    case CONV2D -> {
                        if (current.dimension() != 3) {
                            throw new IllegalArgumentException("layer " + i + " (conv2d) gets inputs shaped "
                                    + current + "; it needs [channels, height, width]");
                        }
                        long in = current.get(0);
                        long fanIn = in * ls.kernel() * ls.kernel();
                        yield new Conv2d(
                                uniform(manager, rng, new Shape(ls.filters(), in, ls.kernel(), ls.kernel()), fanIn, dtype),
                                ls.bias() ? uniform(manager, rng, new Shape(ls.filters()), fanIn, dtype) : null,
                                ls.stride(), ls.padding());
                    }
                    case FLATTEN -> new Flatten();
                    case LOG_SOFTMAX -> new LogSoftmax();
                    default -> new Activation(ls.type().activation(), constants);
                };
                try {
                    current = layer.outputShape(current);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("layer " + i + " (" + ls.type() + "): " + e.getMessage(), e);
                }
                for (Parameter p : layer.parameters()) {
                    p.array().setName(i + "." + p.name());
                    params.add(new Parameter(i + "." + p.name(), p.array()));
                }
                layers.add(layer);
            }
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
        if (current.dimension() != 1) {
            manager.close();
            throw new IllegalArgumentException("the model's output is shaped " + current + "; add a flatten layer");
        }
        NDArray flat = flatten(manager, layers, params);
        return new Network(manager, List.copyOf(layers), List.copyOf(params), shape, (int) current.get(0), dtype,
                constants, flat);
    }

    /**
     * Moves every parameter into one flat array, replacing the layers by ones whose parameters
     * are views of it (in {@code named_parameters()} order), so that an optimizer updates all of
     * them with one fused call instead of one per parameter; returns the flat array, or null when
     * there are no parameters.
     */
    private static NDArray flatten(NDManager manager, List<Layer> layers, List<Parameter> params) {
        if (params.isEmpty()) {
            return null;
        }
        NDList parts = new NDList();
        for (Parameter p : params) {
            parts.add(p.array().reshape(-1));
        }
        NDArray flat = NDArrays.concat(parts);
        params.clear();
        long offset = 0;
        for (int i = 0; i < layers.size(); i++) {
            List<NDArray> views = new ArrayList<>();
            for (Parameter p : layers.get(i).parameters()) {
                Shape shape = p.array().getShape();
                NDArray slice = flat.get(new NDIndex(offset + ":" + (offset + shape.size())));
                NDArray view = slice.reshape(shape);
                slice.close(); // the view keeps the flat array's memory
                offset += shape.size();
                view.setName(i + "." + p.name());
                params.add(new Parameter(i + "." + p.name(), view));
                views.add(view);
                p.array().close();
            }
            if (!views.isEmpty()) {
                layers.set(i, layers.get(i).withParameters(views));
            }
        }
        parts.close();
        return flat;
    }

    /**
     * A network from ready layers (for tests and custom models): {@code manager} becomes the
     * network's and holds the layers' parameters.
     */
    public static Network of(NDManager manager, List<Layer> layers, Shape sampleShape, int outputs, DataType dtype) {
        List<Parameter> params = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            for (Parameter p : layers.get(i).parameters()) {
                params.add(new Parameter(i + "." + p.name(), p.array()));
            }
        }
        return new Network(manager, List.copyOf(layers), List.copyOf(params), sampleShape, outputs, dtype,
                new Constants(manager, dtype), null);
    }

    /** PyTorch's default: U(−1/√fan_in, 1/√fan_in) for weights and biases of Linear and Conv2d. */
    private static NDArray uniform(NDManager m, SplittableRandom rng, Shape shape, long fanIn, DataType dtype) {
        double bound = 1.0 / Math.sqrt(fanIn);
        double[] v = new double[Math.toIntExact(shape.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (rng.nextDouble() * 2 - 1) * bound;
        }
        return m.create(v, shape).toType(dtype, false);
    }

    /** Model output [N, outputs] for flat inputs [N, inputs]. */
    public NDArray forward(NDArray x) {
        NDArray h = shaped(x, 1);
        for (Layer l : layers) {
            h = l.forward(h);
        }
        return h;
    }

    /**
     * The value pass of R replicas of the network, each with its own parameters: outputs
     * [R, N, outputs] for flat inputs [R, N, inputs], or [1, N, inputs] shared by all replicas.
     *
     * @param params one array per {@link #parameters()} entry, in that order, each [R, its shape...]
     */
    public NDArray forward(NDArray x, List<NDArray> params) {
        if (params.size() != parameters.size()) {
            throw new IllegalArgumentException("the network has " + parameters.size() + " parameters, found "
                    + params.size() + " replicated arrays");
        }
        NDArray h = shaped(x, 2);
        int next = 0;
        for (Layer l : layers) {
            int count = l.parameters().size();
            h = l.forward(h, params.subList(next, next + count));
            next += count;
        }
        return h;
    }

    /** Whether every layer has a replicated pass ({@link #forward(NDArray, List)}). */
    public boolean replicable() {
        return layers.stream().allMatch(Layer::replicable);
    }

    /**
     * The Taylor pass: output with first derivatives along {@code directions} [K, 1 or N, inputs]
     * and second derivatives for {@code pairs} of those directions.
     */
    public Taylor taylor(NDArray x, NDArray directions, Pairs pairs) {
        Taylor t = new Taylor(shaped(x, 1), shaped(directions, 2), null);
        Columns c = null; // runs of dense layers and activations on flat features go feature-major
        for (Layer l : layers) {
            if (l instanceof Columns.Layer cl && (c != null || t.value().getShape().dimension() == 2)) {
                c = cl.forward(c == null ? Columns.of(t) : c, pairs);
            } else {
                if (c != null) {
                    t = c.toTaylor();
                    c = null;
                }
                t = l.forward(t, pairs);
            }
        }
        return c == null ? t : c.toTaylor();
    }

    /**
     * The Taylor pass of R replicas of the network, each with its own parameters: for inputs x
     * [R, N, inputs], directions [K, 1 or N, inputs] shared by all replicas or [R, K, N, inputs]
     * of their own, the replicated {@link Taylor}: value [R, N, outputs], jac [R, K, N or 1,
     * outputs], hess [R, P, N, outputs] (null when zero). Each replica's slice equals
     * {@link #taylor(NDArray, NDArray, Pairs)} of the network with that replica's parameters.
     * Needs flat inputs and layers that run feature-major ({@link #replicatedTaylor()}).
     *
     * @param params one array per {@link #parameters()} entry, in that order, each [R, its shape...]
     */
    public Taylor taylor(NDArray x, NDArray directions, Pairs pairs, List<NDArray> params) {
        if (!replicatedTaylor()) {
            throw new UnsupportedOperationException("the replicated Taylor pass needs flat inputs and dense layers "
                    + "and elementwise activations only");
        }
        NDArray dirs = directions.getShape().dimension() == 3 ? directions.expandDims(0) : directions;
        Columns c = Columns.ofReplicated(new Taylor(x, dirs, null));
        int next = 0;
        for (Layer l : layers) {
            int count = l.parameters().size();
            c = ((Columns.Layer) l).forward(c, pairs, params.subList(next, next + count));
            next += count;
        }
        Taylor t = c.toReplicatedTaylor();
        long r = x.getShape().get(0);
        if (t.jac().getShape().get(0) != r) { // no layer with parameters: derivatives still shared
            Shape js = t.jac().getShape();
            t = new Taylor(t.value(), t.jac().broadcast(new Shape(r).addAll(js.slice(1))), t.hess());
        }
        return t;
    }

    /** Whether {@link #taylor(NDArray, NDArray, Pairs, List)} works: flat inputs, dense layers and activations. */
    public boolean replicatedTaylor() {
        return sampleShape.dimension() == 1 && layers.stream().allMatch(l -> l instanceof Columns.Layer);
    }

    /**
     * The index of the first layer that does not take part in the closed-form curvature pass
     * ({@link Sandwich.Layer}), or −1 when every layer does.
     */
    public int firstWithoutCurvature() {
        for (int i = 0; i < layers.size(); i++) {
            if (!(layers.get(i) instanceof Sandwich.Layer)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * The closed-form curvature pass (see {@link Sandwich}) at x [N, inputs], with Jacobians along
     * {@code directions} [K, 1 or N, inputs] and adjoints seeded by {@code seed} [O', 1 or N, outputs]
     * (the identity [O, 1, O] for the Hessian of every output; other rows for combinations of
     * them). Requires {@link #firstWithoutCurvature()} to be −1. Layers above the highest one with
     * a curvature term get no Jacobian (null) and give none.
     */
    public Sandwich curvature(NDArray x, NDArray directions, NDArray seed) {
        return curvature(x, directions, seed, false);
    }

    /**
     * As {@link #curvature(NDArray, NDArray, NDArray)}; with {@code featureMajor} (only where
     * {@link #featureMajor()}) the pass runs feature-major, as the Taylor pass does for flat
     * dense layers and activations (see {@link Columns}), and its terms stay in that layout
     * ({@link Sandwich.Term#featureMajor}).
     */
    public Sandwich curvature(NDArray x, NDArray directions, NDArray seed, boolean featureMajor) {
        if (featureMajor && !featureMajor()) {
            throw new IllegalArgumentException("the feature-major pass needs flat inputs, dense layers and activations");
        }
        if (featureMajor) {
            // adjoints [F, O', N or 1], or [F, N or 1] for one combination (the Hessian of a single
            // output): then no step reshapes them for its products or broadcasts σ' over O'
            Shape s = seed.getShape();
            NDArray adjoint = s.get(0) == 1 ? seed.reshape(s.get(1), s.get(2)).transpose() : seed.transpose(2, 0, 1);
            Sandwich c = pass(x.transpose(), directions.transpose(2, 0, 1), adjoint, null, true);
            return new Sandwich(c.value().transpose(), c.terms());
        }
        return pass(shaped(x, 1), shaped(directions, 2), seed, null, false);
    }

    /** Whether the closed-form pass can run feature-major: flat inputs, dense layers and activations. */
    public boolean featureMajor() {
        return replicatedTaylor();
    }

    /**
     * The closed-form curvature pass of R replicas of this network, each with its own parameters,
     * as one pass ({@link Sandwich}'s replica layout), returned as the pass of the R·N samples x
     * [R, N, inputs] (replica-major: sample r·N + n is replica r's sample n; see {@link
     * Sandwich#ofReplicas}), along {@code directions} [K, 1, inputs] shared by every replica and
     * sample, or [R, K, N, inputs] of their own, with the adjoints seeded by {@code seed} [O', 1,
     * outputs]. Slice r equals {@link #curvature(NDArray, NDArray, NDArray)} of a network holding
     * replica r's parameters at x[r] along directions[r].
     *
     * @param params one array per {@link #parameters()} entry, in that order, each [R, its shape...]
     */
    public Sandwich curvature(NDArray x, NDArray directions, NDArray seed, List<NDArray> params) {
        if (params.size() != parameters.size()) {
            throw new IllegalArgumentException("the network has " + parameters.size() + " parameters, found "
                    + params.size() + " replicated arrays");
        }
        NDArray dirs = directions.getShape().dimension() == 4 ? directions.swapAxes(0, 1) : directions.expandDims(1);
        return Sandwich.ofReplicas(pass(shaped(x, 2), shaped(dirs, 3), seed.expandDims(1), params, false));
    }

    /**
     * As {@link #curvature(NDArray, NDArray, NDArray, List)}; with {@code featureMajor} (only where
     * {@link #featureMajor()}) the pass runs feature-major with the replicas leading (value [R, F,
     * N], Jacobian [R or 1, F, K, N or 1], adjoints [R or 1, F, O', N or 1]: every dense layer one
     * batched product, no copy), and its terms are turned into feature-major terms of the R·N
     * samples, replica-major (rows [r, K, R·N], weights [r, O', R·N] or [r, R·N]), which {@code
     * hessian/ClosedForm} reduces as those of one network's feature-major pass. Slice r equals
     * {@link #curvature(NDArray, NDArray, NDArray, boolean)} of a network holding replica r's
     * parameters.
     */
    public Sandwich curvature(NDArray x, NDArray directions, NDArray seed, List<NDArray> params, boolean featureMajor) {
        if (!featureMajor) {
            return curvature(x, directions, seed, params);
        }
        if (!featureMajor()) {
            throw new IllegalArgumentException("the feature-major pass needs flat inputs, dense layers and activations");
        }
        if (params.size() != parameters.size()) {
            throw new IllegalArgumentException("the network has " + parameters.size() + " parameters, found "
                    + params.size() + " replicated arrays");
        }
        long r = x.getShape().get(0);
        if (directions.getShape().dimension() == 4) {
            r = Math.max(r, directions.getShape().get(0));
        }
        if (!params.isEmpty()) {
            r = Math.max(r, params.get(0).getShape().get(0));
        }
        long n = x.getShape().get(1);
        NDArray jac = directions.getShape().dimension() == 4 ? directions.transpose(0, 3, 1, 2)
                : directions.transpose(2, 0, 1).expandDims(0);
        Shape s = seed.getShape();
        NDArray adjoint = (s.get(0) == 1 ? seed.reshape(s.get(1), s.get(2)).transpose() : seed.transpose(2, 0, 1))
                .expandDims(0);
        Sandwich c = pass(x.transpose(0, 2, 1), jac, adjoint, params, true);
        NDArray v = c.value(); // [R or 1, O, N]
        long o = v.getShape().get(1);
        if (v.getShape().get(0) != r) {
            v = v.broadcast(new Shape(r, o, n));
        }
        List<Sandwich.Term> terms = new ArrayList<>(c.terms().size());
        for (Sandwich.Term t : c.terms()) {
            terms.add(new Sandwich.Term(replicaSamples(t.rows(), r, n), replicaSamples(t.weights(), r, n), true));
        }
        return new Sandwich(v.transpose(0, 2, 1).reshape(r * n, o), terms);
    }

    /**
     * A replicated feature-major array [R or 1, F, .., N or 1] as the samples' [F, .., R·N]
     * (replica-major), one copy; [F, .., 1] when every replica and sample shares it.
     */
    private static NDArray replicaSamples(NDArray a, long r, long n) {
        Shape s = a.getShape();
        int dims = s.dimension();
        if (s.get(0) == 1 && s.get(dims - 1) == 1) {
            return a.squeeze(0);
        }
        NDArray full = s.get(0) == r && s.get(dims - 1) == n ? a
                : a.broadcast(new Shape(r).addAll(s.slice(1, dims - 1)).add(n));
        int[] axes = new int[dims];
        for (int i = 0; i < dims - 2; i++) {
            axes[i] = i + 1;
        }
        axes[dims - 2] = 0;
        axes[dims - 1] = dims - 1;
        return full.transpose(axes).reshape(s.slice(1, dims - 1).add(r * n));
    }

    /**
     * The pass on the plain layout ({@code params} null), the replica layout ({@code params} given)
     * or, with {@code columns}, feature-major ({@link Columns.Layer#curvatureColumns}; with {@code
     * params} the replicas leading).
     */
    private Sandwich pass(NDArray value, NDArray jac, NDArray seed, List<NDArray> params, boolean columns) {
        List<Sandwich.Step> steps = new ArrayList<>(layers.size());
        // Jacobians are needed up to the input of the highest layer with a curvature term, adjoints
        // down to the lowest one
        int lowest = -1;
        int highest = -1;
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            if (l instanceof LogSoftmax || (l instanceof Activation a && a.curved())) {
                lowest = lowest < 0 ? i : lowest;
                highest = i;
            }
        }
        int next = 0;
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            if (!(l instanceof Sandwich.Layer cl)) {
                throw new IllegalStateException("layer " + i + " (" + l.getClass().getSimpleName()
                        + ") has no closed-form curvature");
            }
            NDArray j = i <= highest ? jac : null;
            int count = l.parameters().size();
            Sandwich.Step step = columns ? (params == null ? ((Columns.Layer) l).curvatureColumns(value, j)
                    : ((Columns.Layer) l).curvatureColumns(value, j, params.subList(next, next + count)))
                    : params == null ? cl.curvature(value, j) : cl.curvature(value, j, params.subList(next, next + count));
            next += count;
            steps.add(step);
            value = step.value();
            jac = i < highest ? step.jac() : null; // the output Jacobian of the highest term is never used
        }
        if (lowest < 0) {
            return new Sandwich(value, List.of());
        }
        List<Sandwich.Term> terms = new ArrayList<>();
        NDArray c = seed;
        for (int i = steps.size() - 1; i >= lowest; i--) {
            Sandwich.Term t = steps.get(i).term(c);
            if (t != null) {
                terms.add(t);
            }
            if (i > lowest) {
                c = steps.get(i).back(c);
            }
        }
        return new Sandwich(value, terms);
    }

    /**
     * The widths of the rows of each curvature term of {@link #curvature}, from the input up (the
     * features of every layer with σ'' ≠ 0; log_softmax's inputs plus one): their sum and the
     * input size decide how the pass's norms are best computed.
     */
    public List<Long> curvatureWidths() {
        List<Long> widths = new ArrayList<>();
        Shape s = sampleShape;
        for (Layer l : layers) {
            if (l instanceof Activation a && a.curved()) {
                widths.add(s.size());
            } else if (l instanceof LogSoftmax) {
                widths.add(s.size() + 1);
            }
            s = l.outputShape(s);
        }
        return widths;
    }

    /** Reshapes flat features [.., inputs] to [.., sampleShape] after {@code lead} leading axes. */
    private NDArray shaped(NDArray x, int lead) {
        if (sampleShape.dimension() == 1) {
            return x;
        }
        return x.reshape(x.getShape().slice(0, lead).addAll(sampleShape));
    }

    /** Temporarily attaches every persistent array to {@code step}, so that ops on them land there. */
    public void attach(NDManager step) {
        for (Parameter p : parameters) {
            Scopes.tempAttach(step, p.array());
        }
        constants.attach(step);
    }

    public List<Parameter> parameters() {
        return parameters;
    }

    public List<Layer> layers() {
        return Collections.unmodifiableList(layers);
    }

    /** The largest number of features of one sample after any layer. */
    public long widestOutput() {
        long width = 1;
        Shape s = sampleShape;
        for (Layer l : layers) {
            s = l.outputShape(s);
            width = Math.max(width, s.size());
        }
        return width;
    }

    /** The largest number of features of one sample between layers, the input included. */
    public long widest() {
        return Math.max(sampleShape.size(), widestOutput());
    }

    public long parameterCount() {
        return parameters.stream().mapToLong(p -> p.array().size()).sum();
    }

    public int inputs() {
        return inputs;
    }

    public int outputs() {
        return outputs;
    }

    public Shape sampleShape() {
        return sampleShape;
    }

    public DataType dtype() {
        return dtype;
    }

    /** Scalar constants in the network's dtype, attached to each step with the parameters. */
    public Constants constants() {
        return constants;
    }

    /**
     * The one array whose views are all the parameters, in {@link #parameters()} order, or null
     * (a network made by {@link #of}, or one without parameters).
     */
    public NDArray flatParameters() {
        return flat;
    }

    public NDManager manager() {
        return manager;
    }

    @Override
    public void close() {
        manager.close();
    }
}
