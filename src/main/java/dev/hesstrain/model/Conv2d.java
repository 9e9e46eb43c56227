package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/** 2-D convolution with square kernel, stride and padding, weight [out, in, k, k], as torch.nn.Conv2d. */
public final class Conv2d implements Layer, Sandwich.Layer, Backprop.Layer {
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
        NDArray g = c.reshape(new Shape(cs.get(0) * cs.get(1)).addAll(cs.slice(2)));
        NDArray out = transposed(g, weight.flip(2, 3).transpose(1, 0, 2, 3), 1, in);
        return out.reshape(new Shape(cs.get(0), cs.get(1)).addAll(in));
    }

    /**
     * On a replica axis: value [R or 1, N, C, H, W] by the grouped convolution of {@link
     * #forward(NDArray, List)}; the Jacobian [K, R or 1, N or 1, C, H, W] as K·N' images per replica
     * through the same convolution without bias; the adjoint [O, R or 1, N or 1, F, H', W'] by the
     * transposed convolution grouped per replica (the replicas' channels side by side, their
     * flipped kernels [R·C, F, k, k]).
     */
    @Override
    public Sandwich.Step curvature(NDArray value, NDArray jac, List<NDArray> params) {
        Shape in = value.getShape().slice(2);
        NDArray w = params.get(0); // [R, F, C, k, k]
        long r = w.getShape().get(0);
        NDArray jy = null;
        if (jac != null) {
            Shape js = jac.getShape(); // [K, R', N', C, H, W]
            NDArray images = jac.swapAxes(0, 1).reshape(new Shape(js.get(1), js.get(0) * js.get(2)).addAll(in));
            NDArray y = forward(images, List.of(w)); // [R, K·N', F, H', W']
            Shape ys = y.getShape();
            jy = y.reshape(new Shape(r, js.get(0), js.get(2)).addAll(ys.slice(2))).swapAxes(0, 1);
        }
        return Sandwich.Step.affine(forward(value, params), jy, c -> {
            // made only when an adjoint passes down (not below the lowest curvature term), as the plain step does
            NDArray flipped = w.flip(3, 4).transpose(0, 2, 1, 3, 4);
            Shape fs = flipped.getShape(); // [R, C, F, k, k]
            NDArray kernels = flipped.reshape(new Shape(fs.get(0) * fs.get(1)).addAll(fs.slice(2)));
            Shape cs = c.getShape(); // [O, R', N', F, H', W']
            NDArray full = cs.get(1) == r ? c : c.broadcast(new Shape(cs.get(0), r).addAll(cs.slice(2)));
            // [O, N', R, F, H', W'] -> [O·N', R·F, H', W']: one group per replica
            NDArray g = full.swapAxes(1, 2).reshape(new Shape(cs.get(0) * cs.get(2), r * cs.get(3)).addAll(cs.slice(4)));
            NDArray out = transposed(g, kernels, (int) r, in); // [O·N', R·C, H, W]
            return out.reshape(new Shape(cs.get(0), cs.get(2), r).addAll(in)).swapAxes(1, 2);
        });
    }

    /**
     * The curvature pass on x [N, C, H, W]. Backward Jᵀ: the transposed convolution. The parameters
     * act on the unfolded input U [N, C·k·k, H'·W'] (im2col: each output position's patch, here a
     * convolution with the identity kernel), so a column c of H_z [N, F, H'·W'] maps to the
     * per-sample kernel gradient c Uᵀ [F, C·k·k] (BackPACK's {@code convnd.py}), squared and summed
     * over columns and samples for the diagonal; the bias's is c summed over positions.
     */
    @Override
    public Backprop.Step backprop(NDArray x) {
        Shape in = x.getShape().slice(1);
        NDArray value = forward(x);
        return new Backprop.Step() {
            private NDArray unfolded;

            @Override
            public NDArray value() {
                return value;
            }

            @Override
            public NDArray back(NDArray columns) {
                return transposed(columns, in);
            }

            @Override
            public void keep() {
                unfolded();
            }

            /** [N, C·k·k, H'·W'], made once. */
            private NDArray unfolded() {
                if (unfolded == null) {
                    unfolded = unfold(x);
                }
                return unfolded;
            }

            /**
             * Σ_n Σ_c s[c, n] (c Uᵀ)² for the kernel and Σ_n Σ_c s[c, n] (Σ_positions c)² for the bias.
             * The per-sample kernel gradients are one batched product per sample, [N, c·F, H'W'] ×
             * [N, H'W', C·k·k], the columns' sample axis moved to the front: on conv12 (5 columns, 8
             * samples) 150 us against 270 us for the product broadcast over the columns ([c, N]
             * batches of [F, H'W'] × [H'W', C·k·k]: 40 skinny products).
             */
            @Override
            public List<NDArray> diagonal(NDArray columns, NDArray signs) {
                Shape cs = columns.getShape();
                long cc = cs.get(0);
                long nn = cs.get(1);
                long f = cs.get(2);
                NDArray c = columns.reshape(cc, nn, f, -1); // [c, N, F, H'W']
                NDArray bySample = c.transpose(1, 0, 2, 3).reshape(nn, cc * f, -1); // [N, c·F, H'W']
                NDArray g = bySample.matMul(unfolded().transpose(0, 2, 1)); // [N, c·F, Ckk]
                NDArray sq = Ops.square(g).reshape(nn, cc, -1);
                if (signs != null) {
                    sq = sq.mul(signs.transpose().expandDims(2)); // [N, c, 1]
                }
                NDArray w = sq.sum(new int[] {0, 1}).reshape(weight.getShape());
                return bias == null ? List.of(w) : List.of(w, Backprop.signedSquares(c.sum(new int[] {3}), signs));
            }

            @Override
            public List<NDArray> vjp(NDArray columns) {
                Shape cs = columns.getShape();
                long f = cs.get(2);
                // Σ_n over the samples and positions at once: [c, F, N·H'W'] x [N·H'W', Ckk]
                NDArray c = columns.reshape(cs.get(0), cs.get(1), f, -1).transpose(0, 2, 1, 3).reshape(cs.get(0), f, -1);
                NDArray u = unfolded().transpose(0, 2, 1);
                u = u.reshape(-1, u.getShape().get(2));
                NDArray w = c.matMul(u).reshape(new Shape(cs.get(0)).addAll(weight.getShape()));
                return bias == null ? List.of(w) : List.of(w, c.sum(new int[] {2}));
            }

            @Override
            public NDArray tangent(NDArray input, List<NDArray> params) {
                NDArray t = forward(x.expandDims(0), params); // [K, N, F, H', W']: the shared input, each tangent kernel
                return input == null ? t : t.add(linearPart(input));
            }

            /** The transposed convolution of g with each tangent kernel: [K, N, C, H, W]. */
            @Override
            public NDArray backTangent(NDArray gradient, List<NDArray> params) {
                NDArray dw = params.get(0); // [K, F, C, k, k]
                long kk = dw.getShape().get(0);
                ai.djl.ndarray.NDList parts = new ai.djl.ndarray.NDList();
                for (int i = 0; i < kk; i++) {
                    parts.add(transposed(gradient, dw.get(i).flip(2, 3).transpose(1, 0, 2, 3), 1, in));
                }
                return ai.djl.ndarray.NDArrays.stack(parts, 0);
            }

            /** Σ_n g_n U(dx_n)ᵀ per tangent: the kernel gradient with the unfolded input's tangent. */
            @Override
            public List<NDArray> vjpTangent(NDArray gradient, NDArray input) {
                Shape is = input.getShape(); // [K, N, C, H, W]
                long kk = is.get(0);
                NDArray u = unfold(input.reshape(new Shape(kk * is.get(1)).addAll(is.slice(2))));
                u = u.reshape(kk, is.get(1), u.getShape().get(1), -1).transpose(0, 1, 3, 2); // [K, N, H'W', Ckk]
                Shape gs = gradient.getShape();
                NDArray g = gradient.reshape(gs.get(0), gs.get(1), -1).expandDims(0); // [1, N, F, H'W']
                return List.of(g.matMul(u).sum(new int[] {1}).reshape(new Shape(kk).addAll(weight.getShape()))); // the bias's: none
            }
        };
    }

    /**
     * im2col of x [N, C, H, W]: [N, C·k·k, H'·W'], patch entries in the kernel's row-major order
     * (c, kh, kw), by a convolution with the identity kernel [C·k·k, C, k, k].
     */
    private NDArray unfold(NDArray x) {
        Shape ws = weight.getShape();
        int c = (int) ws.get(1);
        int k = (int) ws.get(2);
        int j = c * k * k;
        double[] eye = new double[j * j];
        for (int i = 0; i < j; i++) {
            eye[i * j + i] = 1;
        }
        NDArray kernel = x.getManager().create(eye, new Shape(j, c, k, k)).toType(x.getDataType(), false);
        NDArray u = conv(x, kernel, null, 1);
        return u.reshape(u.getShape().get(0), j, -1);
    }

    /**
     * The transposed convolution of g [M, groups·F, H', W'] with {@code flipped} kernels [groups·C,
     * F, k, k] in {@code groups} groups, to [M, groups·C, H, W] for inputs shaped {@code in} [C, H,
     * W]: g dilated by the stride, convolved with padding k − 1 − p, and zeros appended at the bottom
     * and right for the rows and columns the stride skipped.
     */
    private NDArray transposed(NDArray g, NDArray flipped, int groups, Shape in) {
        Shape gs = g.getShape();
        long m = gs.get(0);
        long f = gs.get(1);
        long ho = gs.get(2);
        long wo = gs.get(3);
        int k = (int) weight.getShape().get(2);
        if (stride > 1) {
            NDArray cell = g.reshape(m, f, ho, 1, wo, 1);
            cell = cell.concat(cell.getManager().zeros(new Shape(m, f, ho, stride - 1, wo, 1), g.getDataType()), 3);
            cell = cell.concat(cell.getManager().zeros(new Shape(m, f, ho, stride, wo, stride - 1), g.getDataType()), 5);
            g = cell.reshape(m, f, ho * stride, wo * stride)
                    .get(":, :, :" + ((ho - 1) * stride + 1) + ", :" + ((wo - 1) * stride + 1));
        }
        int q = k - 1 - padding;
        NDArray out = conv(g, flipped, null, 1, Math.max(0, q), groups);
        if (q < 0) {
            long h = out.getShape().get(2);
            long w = out.getShape().get(3);
            out = out.get(":, :, " + (-q) + ":" + (h + q) + ", " + (-q) + ":" + (w + q));
        }
        long rh = in.get(1) - out.getShape().get(2);
        long rw = in.get(2) - out.getShape().get(3);
        long ci = out.getShape().get(1);
        if (rh > 0) {
            out = out.concat(out.getManager().zeros(new Shape(m, ci, rh, out.getShape().get(3)), g.getDataType()), 2);
        }
        if (rw > 0) {
            out = out.concat(out.getManager().zeros(new Shape(m, ci, in.get(1), rw), g.getDataType()), 3);
        }
        return out;
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
