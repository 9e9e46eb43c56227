package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/** 2-D convolution with square kernel, stride and padding, weight [out, in, k, k], as torch.nn.Conv2d. */
public final class Conv2d implements Layer, Sandwich.Layer {
    private final NDArray weight;
    private final NDArray bias;
    private final int stride;
    private final int padding;

    public Conv2d(NDArray weight, NDArray bias, int stride, int padding) {
        this.weight = weight;
        this.bias = bias;
        this.stride = stride;
        this.padding = padding;
    }

    @Override
    public NDArray forward(NDArray x) {
        return conv(x, bias);
    }

    private NDArray conv(NDArray x, NDArray b) {
        return conv(x, weight, b, 1);
    }

    private NDArray conv(NDArray x, NDArray w, NDArray b, int groups) {
        return conv(x, w, b, stride, padding, groups);
    }

    private static NDArray conv(NDArray x, NDArray w, NDArray b, int stride, int padding, int groups) {
        Shape s = new Shape(stride, stride);
        Shape p = new Shape(padding, padding);
        Shape dil = new Shape(1, 1);
        return ai.djl.nn.convolutional.Conv2d.conv2d(x, w, b, s, p, dil, groups).singletonOrThrow();
    }

    /**
     * R replicas as one convolution: the replicas' filters side by side, [R·F, C, k, k]; on a shared
     * input [1, N, C, H, W] an ordinary convolution, on inputs [R, N, C, H, W] a grouped one with
     * the replicas' channels side by side, [N, R·C, H, W], one group per replica.
     */
    @Override
    public NDArray forward(NDArray x, List<NDArray> params) {
        Shape ws = params.get(0).getShape(); // [R, F, C, k, k]
        long r = ws.get(0);
        long f = ws.get(1);
        NDArray w = params.get(0).reshape(new Shape(r * f).addAll(ws.slice(2)));
        NDArray b = params.size() > 1 ? params.get(1).reshape(r * f) : null;
        Shape xs = x.getShape(); // [R or 1, N, C, H, W]
        long n = xs.get(1);
        boolean shared = xs.get(0) == 1 && r > 1;
        NDArray in = shared ? x.reshape(xs.slice(1)) : x.swapAxes(0, 1).reshape(new Shape(n, r * xs.get(2)).addAll(xs.slice(3)));
        NDArray y = conv(in, w, b, shared ? 1 : (int) r);
        Shape s = y.getShape();
        return y.reshape(new Shape(n, r, f).addAll(s.slice(2))).swapAxes(0, 1);
    }

    @Override
    public boolean replicable() {
        return true;
    }

    public int stride() {
        return stride;
    }

    public int padding() {
        return padding;
    }

    @Override
    public Taylor forward(Taylor t, Pairs pairs) {
        NDArray value = forward(t.value());
        return new Taylor(value, linearPart(t.jac()), t.hess() == null ? null : linearPart(t.hess()));
    }

    /** The convolution without bias applied to [K, N, C, H, W] derivatives. */
    private NDArray linearPart(NDArray d) {
        Shape s = d.getShape();
        NDArray flat = d.reshape(new Shape(s.get(0) * s.get(1)).addAll(s.slice(2)));
        NDArray out = conv(flat, null);
        return out.reshape(new Shape(s.get(0), s.get(1)).addAll(out.getShape().slice(1)));
    }

    @Override
    public Sandwich.Step curvature(NDArray value, NDArray jac) {
        Shape in = value.getShape().slice(1);
        return Sandwich.Step.affine(forward(value), jac == null ? null : linearPart(jac), c -> transposed(c, in));
    }

    /**
     * The adjoint of the input [O, N or 1, C, H, W] from that of the output c [O, N or 1, F, H', W']:
     * the transposed convolution, as a convolution with the flipped kernel (in and out channels
     * swapped) of c dilated by the stride (s − 1 zeros between entries), padded by k − 1 − p, and
     * zeros appended at the bottom and right for the rows and columns the stride skipped.
     * PyTorch's conv_transpose2d is not reachable through DJL's PyTorch engine (not implemented).
     */
    public NDArray transposed(NDArray c, Shape in) {
        Shape cs = c.getShape();
        long m = cs.get(0) * cs.get(1);
        long f = cs.get(2);
        long ho = cs.get(3);
        long wo = cs.get(4);
        int k = (int) weight.getShape().get(2);
        NDArray g = c.reshape(m, f, ho, wo);
        if (stride > 1) {
            NDArray cell = g.reshape(m, f, ho, 1, wo, 1);
            cell = cell.concat(cell.getManager().zeros(new Shape(m, f, ho, stride - 1, wo, 1), c.getDataType()), 3);
            cell = cell.concat(cell.getManager().zeros(new Shape(m, f, ho, stride, wo, stride - 1), c.getDataType()), 5);
            g = cell.reshape(m, f, ho * stride, wo * stride)
                    .get(":, :, :" + ((ho - 1) * stride + 1) + ", :" + ((wo - 1) * stride + 1));
        }
        NDArray flipped = weight.flip(2, 3).transpose(1, 0, 2, 3);
        int q = k - 1 - padding;
        NDArray out = conv(g, flipped, null, 1, Math.max(0, q), 1);
        if (q < 0) {
            long h = out.getShape().get(2);
            long w = out.getShape().get(3);
            out = out.get(":, :, " + (-q) + ":" + (h + q) + ", " + (-q) + ":" + (w + q));
        }
        long rh = in.get(1) - out.getShape().get(2);
        long rw = in.get(2) - out.getShape().get(3);
        long ci = out.getShape().get(1);
        if (rh > 0) {
            out = out.concat(out.getManager().zeros(new Shape(m, ci, rh, out.getShape().get(3)), c.getDataType()), 2);
        }
        if (rw > 0) {
            out = out.concat(out.getManager().zeros(new Shape(m, ci, in.get(1), rw), c.getDataType()), 3);
        }
        return out.reshape(new Shape(cs.get(0), cs.get(1)).addAll(in));
    }

    @Override
    public Shape outputShape(Shape in) {
        if (in.dimension() != 3 || in.get(0) != weight.getShape().get(1)) {
            throw new IllegalArgumentException(
                    "conv2d layer expects [" + weight.getShape().get(1) + ", height, width] inputs, found " + in);
        }
        long k = weight.getShape().get(2);
        long h = (in.get(1) + 2L * padding - k) / stride + 1;
        long w = (in.get(2) + 2L * padding - k) / stride + 1;
        if (h <= 0 || w <= 0) {
            throw new IllegalArgumentException("conv2d kernel " + k + " is larger than its padded input " + in);
        }
        return new Shape(weight.getShape().get(0), h, w);
    }

    @Override
    public List<Parameter> parameters() {
        return Parameter.weightAndBias(weight, bias);
    }

    @Override
    public Layer withParameters(List<NDArray> arrays) {
        return new Conv2d(arrays.get(0), bias == null ? null : arrays.get(1), stride, padding);
    }
}
