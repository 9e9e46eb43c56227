package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/** 2-D convolution with square kernel, stride and padding, weight [out, in, k, k], as torch.nn.Conv2d. */
public final class Conv2d implements Layer {
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
        Shape s = new Shape(stride, stride);
        Shape p = new Shape(padding, padding);
        Shape dil = new Shape(1, 1);
        return ai.djl.nn.convolutional.Conv2d.conv2d(x, weight, b, s, p, dil, 1).singletonOrThrow();
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
