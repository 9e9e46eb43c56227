package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;

/**
 * A value with its first and second directional derivatives with respect to the input, carried
 * forward through the layers (Taylor mode).
 *
 * <p>For input directions u_1..u_K and pairs (a_p, b_p), {@code jac[i, n, ...]} is the derivative
 * of the value of sample n along u_i, and {@code hess[p, n, ...]} is the second derivative
 * u_{a_p}ᵀ (∂²value) u_{b_p}. With the unit directions and all pairs (j, k), these are the
 * Jacobian and the Hessian. Directions lead, so that σ'(z) [N, ...] broadcasts over them along
 * contiguous memory. The batch axis of {@code jac} and {@code hess} may be 1 (the same for every
 * sample, broadcast); a null {@code hess} means zero.
 *
 * @param value [N, ...] the layer output
 * @param jac [K, N or 1, ...] first derivatives along the K directions
 * @param hess [P, N or 1, ...] second derivatives for the P pairs, or null when identically zero
 */
public record Taylor(NDArray value, NDArray jac, NDArray hess) {}
