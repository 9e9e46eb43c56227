package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Scalar constants as 0-d arrays in the network's dtype, made once. Use them, never a Java number,
 * as an operand in anything that is differentiated.
 *
 * <p>Why, twice over. (1) Correctness: for {@code x.mul(Number)} DJL makes a 0-d array from the
 * number and frees it right after the op, while autograd's graph still holds it for the backward
 * pass (mul saves its operand); after a garbage collection that backward pass reads freed memory
 * and returns garbage. A persistent constant lives as long as the network. Where no constant is at
 * hand, an op whose backward saves nothing will do: {@code g.add(0)} copies a gradient with its
 * graph, {@code g.mul(1)} would not be safe. (2) Speed: an op with a Java number creates a tensor
 * for it every time (a JNI call and an allocation); in the Taylor pass, which is made of small
 * ops, that is a measurable share of a step.
 */
public final class Constants {
    private final NDManager manager;
    private final DataType dtype;
    private final Map<Double, NDArray> values = new LinkedHashMap<>();

    Constants(NDManager manager, DataType dtype) {
        this.manager = manager;
        this.dtype = dtype;
    }

    /** The constant v, attached to the network's manager (and to each step's, see {@link #attach}). */
    public synchronized NDArray of(double v) {
        return values.computeIfAbsent(v, k -> manager.create(k).toType(dtype, false));
    }

    void attach(NDManager step) {
        for (NDArray a : values.values()) {
            Scopes.tempAttach(step, a);
        }
    }
}
