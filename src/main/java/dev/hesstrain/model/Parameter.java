package dev.hesstrain.model;

import ai.djl.ndarray.NDArray;

/**
 * A named parameter, named as PyTorch's {@code named_parameters()} of the equivalent
 * {@code torch.nn.Sequential} ("0.weight", "0.bias", "2.weight", ...).
 */
public record Parameter(String name, NDArray array) {}
