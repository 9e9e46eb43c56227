package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * DJL attaches an op's result to the manager of its first operand. Persistent arrays (parameters,
 * constants) are therefore attached to each step's manager for the step's duration, so that
 * everything a step creates is freed with it.
 */
public final class Scopes {
    private Scopes() {}

    /** Temporarily attaches {@code arrays} to {@code step}, skipping those already there. */
    public static void tempAttach(NDManager step, NDArray... arrays) {
        for (NDArray a : arrays) {
            if (a != null && a.getManager() != step) {
                a.tempAttach(step);
            }
        }
    }
}
