package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;

/**
 * A value with its first and second directional derivatives with respect to the input, carried
 * forward through the layers (Taylor mode).
 *
 * <p>For input directions u_1..u_K and pairs (a_p, b_p), {@code jac[n, i, ...]} is the derivative
 * of the value of sample n along u_i, and {@code hess[n, p, ...]} is the second derivative
 * u_{a_p}ᵀ (∂²value) u_{b_p}. With the unit directions and all pairs j ≤ k, these are the Jacobian
 * and the upper triangle of the Hessian. The batch axis of {@code jac} and {@code hess} may be 1
 * (the same for every sample, broadcast); a null {@code hess} means zero.
 *
 * @param value [N, ...] the layer output
 * @param jac [N or 1, K, ...] first derivatives along the K directions
 * @param hess [N or 1, P, ...] second derivatives for the P pairs, or null when identically zero
 */
public record Taylor(NDArray value, NDArray jac, NDArray hess) {}
