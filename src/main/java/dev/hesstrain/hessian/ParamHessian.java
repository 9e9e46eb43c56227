package dev.hesstrain.hessian;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import dev.hesstrain.model.Layer;
import dev.hesstrain.model.Loss;
import dev.hesstrain.model.Network;
import dev.hesstrain.model.Parameter;
import dev.hesstrain.model.Scopes;
import dev.hesstrain.model.Torch;
import dev.hesstrain.spec.LossKind;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The Hessian of a scalar (the loss over a batch, or the mean of a single-output model) with
 * respect to all parameters of a network, flattened in {@link Network#parameters()} order (which
 * is PyTorch's {@code named_parameters()} order), each block row-major.
 *
 * <p>Rows and Hessian-vector products come from reverse-over-reverse differentiation: one backward
 * pass with {@code create_graph} gives the gradient g(θ) with its graph, then each product is one
 * more backward pass through that graph. To share the fixed cost of a backward pass between many
 * products, the network is evaluated on {@code K} replicas of its parameters stacked in one leaf
 * Θ [K, P] (the network's replicated pass, {@link Network#forward(NDArray, List)}, evaluates all
 * replicas at once):
 * the replicas' gradients are independent, so one backward pass of Σₖ g_k · v_k gives K products,
 * H v_k in row k of Θ's gradient. Rows of H are the products with unit vectors, picked by one
 * strided index of the flat gradient.
 *
 * <p>Replicas need layers with a replicated pass (every layer of hesstrain's own; see {@link
 * Layer#replicable()}). Other networks use the network's own parameters as leaves (one product
 * per pass).
 *
 * <p>A leaf whose gradient carries a graph forms a reference cycle with it (PyTorch warns about
 * this), so a little memory stays allocated after {@link #close()}: fine for inspection, not for
 * a loop.
 */
public final class ParamHessian implements AutoCloseable {
    /** One parameter's place in the flat vector. */
    public record Block(String name, long[] shape, long offset, long size) {}

    private final NDManager manager;
    private final DataType dtype;
    private final int replicas;
    private final int dim;
    private final List<Block> layout;
    private final boolean replicated;
    private final List<NDArray> leaves;
    /** Per block, the gradient g_b with its graph, flat [K·size_b]. */
    private final List<NDArray> gradients;
    private final double value;
    private final double[] firstGradient;
    private long products;

    /**
     * Builds the gradient graph.
     *
     * @param net the network (its parameters are read, never changed)
     * @param x inputs, row-major [n, d]
     * @param y targets: [n, o] values for mse, [n] labels for cross_entropy and nll; null for the output
     * @param loss mse, cross_entropy or nll; null for the mean over the points of the single output
     * @param replicas products per backward pass; 0 evaluates the network itself (its parameters
     *     are the leaves, one product per pass), as networks that cannot be replicated always are
     */
    public ParamHessian(Network net, double[] x, int n, double[] y, LossKind loss, int replicas) {
        if (loss == null && net.outputs() != 1) {
            throw new IllegalArgumentException("the Hessian of the output needs a model with one output, this one has "
                    + net.outputs());
        }
        if (net.parameterCount() == 0) {
            throw new IllegalArgumentException("the model has no parameters");
        }
        if (net.parameterCount() > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException("the model has too many parameters: " + net.parameterCount());
        }
        this.dtype = net.dtype();
        this.dim = (int) net.parameterCount();
        this.layout = layout(net);
        boolean replicable = replicas > 0 && net.replicable();
        this.replicas = replicable ? replicas : 1;
        this.manager = net.manager().newSubManager();
        try {
            NDArray xs = manager.create(x, new Shape(n, net.inputs())).toType(dtype, false);
            NDArray targets = targets(net, y, n, loss);
            NDArray total;
            this.leaves = new ArrayList<>();
            this.replicated = replicable;
            if (replicable) {
                double[] tiled = tiled(net, this.replicas);
                for (Block b : layout) {
                    // one leaf per parameter block, so that no slice of a shared leaf is scattered back in backward
                    double[] values = new double[this.replicas * (int) b.size()];
                    for (int r = 0; r < this.replicas; r++) {
                        System.arraycopy(tiled, r * dim + (int) b.offset(), values, r * (int) b.size(), (int) b.size());
                    }
                    NDArray leaf = manager.create(values, new Shape(this.replicas, b.size())).toType(dtype, true);
                    leaf.setRequiresGradient(true);
                    leaves.add(leaf);
                }
            } else {
                net.attach(manager);
                for (Parameter p : net.parameters()) {
                    NDArray leaf = p.array();
                    leaf.setRequiresGradient(true);
                    leaves.add(leaf);
                }
            }
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                if (replicable) {
                    total = replicatedTotal(net, xs, targets, loss);
                } else {
                    NDArray out = net.forward(xs);
                    total = loss == null ? out.mean() : Loss.of(loss, out, targets);
                }
                Torch.backward(total, true);
                this.gradients = new ArrayList<>();
                for (NDArray leaf : leaves) {
                    gradients.add(graphCopy(leaf.getGradient()).reshape(-1));
                }
                for (NDArray leaf : leaves) {
                    Torch.zeroGrad(leaf);
                }
            }
            this.value = total.toType(DataType.FLOAT64, false).getDouble() / this.replicas;
            this.firstGradient = new double[dim];
            for (int b = 0; b < layout.size(); b++) {
                NDArray first = gradients.get(b).get(new NDIndex("0:" + layout.get(b).size()));
                double[] v = first.toType(DataType.FLOAT64, false).toDoubleArray();
                System.arraycopy(v, 0, firstGradient, (int) layout.get(b).offset(), v.length);
            }
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * A copy of a gradient that keeps its graph, so that the leaf's own gradient can be zeroed and
     * reused (duplicate() would clone without the graph). add(0), not mul(1): see {@link
     * dev.hesstrain.model.Constants}.
     */
    private static NDArray graphCopy(NDArray g) {
        return g.add(0);
    }


    /** The blocks of the flat parameter vector, in order. */
    public static List<Block> layout(Network net) {
        List<Block> blocks = new ArrayList<>();
        long offset = 0;
        for (Parameter p : net.parameters()) {
            long size = p.array().size();
            blocks.add(new Block(p.name(), p.array().getShape().getShape(), offset, size));
            offset += size;
        }
        return blocks;
    }

    private static double[] tiled(Network net, int k) {
        Map<String, double[]> values = dev.hesstrain.model.Weights.snapshot(net);
        int p = (int) net.parameterCount();
        double[] flat = new double[p];
        int at = 0;
        for (double[] v : values.values()) {
            System.arraycopy(v, 0, flat, at, v.length);
            at += v.length;
        }
        double[] all = new double[k * p];
        for (int r = 0; r < k; r++) {
            System.arraycopy(flat, 0, all, r * p, p);
        }
        return all;
    }

    private NDArray targets(Network net, double[] y, int n, LossKind loss) {
        if (loss == null) {
            return null;
        }
        if (y == null) {
            throw new IllegalArgumentException("the loss needs targets");
        }
        if (!loss.classification()) {
            if (y.length != (long) n * net.outputs()) {
                throw new IllegalArgumentException("mse needs " + net.outputs() + " target(s) per point, found "
                        + y.length / Math.max(n, 1));
            }
            return manager.create(y, new Shape(n, net.outputs())).toType(dtype, false);
        }
        if (y.length != n) {
            throw new IllegalArgumentException(loss + " needs one label per point, found " + y.length / Math.max(n, 1));
        }
        return manager.create(y, new Shape(n)).toType(DataType.INT64, false);
    }

    // ---- the replicated forward pass ---------------------------------------------------------

    /** Block b of every replica, shaped [K, shape...]. */
    private NDArray view(Block b) {
        return leaves.get(layout.indexOf(b)).reshape(new Shape(replicas).addAll(new Shape(b.shape())));
    }

    /** Σ over the K replicas of the loss, or of the mean output, from the network's replicated pass. */
    private NDArray replicatedTotal(Network net, NDArray x, NDArray y, LossKind loss) {
        List<NDArray> params = new ArrayList<>();
        for (Block b : layout) {
            params.add(view(b));
        }
        NDArray out = net.forward(x.expandDims(0), params); // [K, n, o]; the input is shared
        if (loss == null) {
            return out.reshape(replicas, -1).mean(new int[] {1}).sum();
        }
        return Loss.perReplica(loss, out, y).sum();
    }

    // ---- products ----------------------------------------------------------------------------

    /** The dimension P. */
    public int dim() {
        return dim;
    }

    /** Products computed together in one backward pass. */
    public int replicas() {
        return replicas;
    }

    /** Whether the network is evaluated on replicas of its parameters. */
    public boolean replicated() {
        return replicated;
    }

    public List<Block> layout() {
        return layout;
    }

    /** The value of the scalar whose Hessian this is. */
    public double value() {
        return value;
    }

    /** Its gradient, in float64. */
    public double[] gradient() {
        return firstGradient.clone();
    }

    /** Hessian-vector products computed so far (a batch of K counts K). */
    public long products() {
        return products;
    }

    /**
     * How many rows from {@code start} one backward pass gives: at most {@link #replicas()}, and
     * never past the end of a parameter block (a batch within one block only needs that block's
     * gradient graph, so autograd skips the branches of the others).
     */
    public int batch(int start) {
        Block b = block(start);
        return (int) Math.min(replicas, b.offset() + b.size() - start);
    }

    private Block block(int index) {
        for (Block b : layout) {
            if (index < b.offset() + b.size()) {
                return b;
            }
        }
        throw new IllegalArgumentException("index " + index + " is past the " + dim + " parameters");
    }

    /**
     * Rows {@code start .. start+count-1} of H (count at most {@link #replicas()}) as a new array
     * [count, P] in the model's dtype, attached to {@code into}: one backward pass per parameter
     * block the rows touch, each picking its gradient entries by one strided index.
     */
    public NDArray rows(int start, int count, NDManager into) {
        if (count < 1 || count > replicas || start < 0 || start + count > dim) {
            throw new IllegalArgumentException("rows " + start + ".." + (start + count - 1) + " of " + dim
                    + " in batches of at most " + replicas);
        }
        try (NDManager step = manager.newSubManager()) {
            attach(step);
            boolean any = false;
            for (int r0 = start; r0 < start + count; ) {
                int b = layout.indexOf(block(r0));
                long size = layout.get(b).size();
                int r1 = (int) Math.min(start + count, layout.get(b).offset() + size);
                int first = r0 - start;
                // replica c = r − start picks entry (r − offset) of its own copy of g_b
                long from = first * size + (r0 - layout.get(b).offset());
                long stride = size + 1;
                NDIndex index = new NDIndex(from + ":" + (from + (r1 - r0 - 1) * stride + 1) + ":" + stride);
                NDArray g = gradients.get(b);
                // the passes of later blocks add nothing to the replicas of earlier ones
                any |= backward(recorded(() -> g.get(index).sum()));
                products += r1 - r0;
                r0 = r1;
            }
            NDArray out = any ? read(count, step) : step.zeros(new Shape(count, dim), dtype);
            out.attach(into);
            return out;
        }
    }

    /**
     * H·V for a block V [P, count] (count at most {@link #replicas()}), on the engine: one backward
     * pass of Σ_c g(θ_c)·v_c through the gradient graph. The result is [P, count] in float64,
     * attached to V's manager.
     */
    public NDArray multiply(NDArray v) {
        Shape vs = v.getShape();
        if (vs.dimension() != 2 || vs.get(0) != dim || vs.get(1) < 1 || vs.get(1) > replicas) {
            throw new IllegalArgumentException("a block of shape " + vs + " for a Hessian of dimension " + dim
                    + ": expected (" + dim + ", k) with k from 1 to " + replicas);
        }
        int count = (int) vs.get(1);
        NDManager home = v.getManager();
        try (NDManager step = manager.newSubManager()) {
            attach(step);
            Scopes.tempAttach(step, v);
            NDArray rowsOf = v.toType(dtype, false).transpose(); // [count, P]: vector c for replica c
            if (replicated && count < replicas) {
                rowsOf = rowsOf.concat(step.zeros(new Shape(replicas - count, dim), dtype), 0);
            }
            List<NDArray> parts = new ArrayList<>();
            for (Block b : layout) {
                parts.add(rowsOf.get(new NDIndex(":, " + b.offset() + ":" + (b.offset() + b.size()))).reshape(-1));
            }
            NDArray s = recorded(() -> {
                NDArray sum = null;
                for (int b = 0; b < layout.size(); b++) {
                    NDArray term = gradients.get(b).mul(parts.get(b)).sum();
                    sum = sum == null ? term : sum.add(term);
                }
                return sum;
            });
            NDArray out = backward(s) ? read(count, step).transpose().toType(DataType.FLOAT64, true)
                    : step.zeros(new Shape(dim, count), DataType.FLOAT64);
            products += count;
            out.attach(home);
            return out;
        }
    }

    private void attach(NDManager step) {
        for (NDArray g : gradients) {
            Scopes.tempAttach(step, g);
        }
        for (NDArray leaf : leaves) {
            Scopes.tempAttach(step, leaf);
        }
    }

    /** The index op must be recorded in the graph: grad mode on for it (no collector is needed). */
    private static NDArray recorded(java.util.function.Supplier<NDArray> op) {
        return Torch.recorded(op);
    }

    /**
     * Backward from s through the gradient graph; false when s has no graph, that is when the
     * gradients it picks do not depend on the parameters (the bias of a linear output): zero rows.
     */
    private static boolean backward(NDArray s) {
        return Torch.backwardIfDependent(s);
    }

    /**
     * Replicas 0..count-1's gradients as rows [count, P] (a copy, attached to {@code step}), and
     * the gradients zeroed. The rows are a fresh array that each gradient's memory is copied into
     * directly, block by block: 78ef744's copy into the caller's rows, measured 0.26 ms a conv12
     * row block against 0.55-0.62 ms for the views and concatenation of the same blocks on the
     * engine (the index parse and the views' arrays, per block, come on top of the copy).
     */
    private NDArray read(int count, NDManager step) {
        int item = dtype.getNumOfBytes();
        NDArray rows = step.create(new Shape(count, dim), dtype); // uninitialised: every byte is copied below
        ByteBuffer out = rows.toByteBuffer(true).order(ByteOrder.nativeOrder());
        for (int b = 0; b < leaves.size(); b++) {
            NDArray g = leaves.get(b).getGradient();
            Scopes.tempAttach(step, g);
            ByteBuffer in = g.toByteBuffer(true).order(ByteOrder.nativeOrder());
            int size = (int) layout.get(b).size() * item;
            long offset = layout.get(b).offset() * item;
            // replica c's copy of block b is row c's columns offset..offset+size (one copy unreplicated)
            for (int c = 0; c < (replicated ? count : 1); c++) {
                out.put((int) (c * (long) dim * item + offset), in, c * size, size);
            }
        }
        for (NDArray leaf : leaves) {
            Torch.zeroGrad(leaf);
        }
        return rows;
    }

    @Override
    public void close() {
        if (!replicated) {
            for (NDArray leaf : leaves) {
                Torch.zeroGrad(leaf);
            }
        }
        manager.close();
    }
}
