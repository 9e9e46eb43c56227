package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/**
 * One layer, as in {@code torch.nn.Sequential}: activations are layers too. Fields that do not
 * apply to the type are rejected.
 */
@JsonPropertyOrder({"type", "units", "bias", "filters", "kernel", "stride", "padding"})
@JsonInclude(JsonInclude.Include.NON_NULL)
public record LayerSpec(
        @JsonProperty("type") String type,
        @JsonProperty("units") Integer units,
        @JsonProperty("bias") Boolean bias,
        @JsonProperty("filters") Integer filters,
        @JsonProperty("kernel") Integer kernel,
        @JsonProperty("stride") Integer stride,
        @JsonProperty("padding") Integer padding) {

    /** Elementwise activations, smooth ones first. */
    public static final List<String> ACTIVATIONS =
            List.of("tanh", "sigmoid", "softplus", "gelu", "silu", "sin", "identity", "relu");

    public static final List<String> STRUCTURAL = List.of("linear", "conv2d", "flatten", "log_softmax");

    public static final List<String> TYPES = concat(STRUCTURAL, ACTIVATIONS);

    public LayerSpec {
        type = Check.oneOf("type", type, TYPES);
        switch (type) {
            case "linear" -> {
                Check.positive("units", units);
                bias = bias == null ? Boolean.TRUE : bias;
                noConv(filters, kernel, stride, padding, type);
            }
            case "conv2d" -> {
                Check.positive("filters", filters);
                Check.positive("kernel", kernel);
                stride = Check.positive("stride", stride == null ? 1 : stride);
                padding = Check.atLeast("padding", padding == null ? 0 : padding, 0);
                bias = bias == null ? Boolean.TRUE : bias;
                Check.absent("units", units, "for a conv2d layer (use filters)");
            }
            default -> {
                Check.absent("units", units, "for a " + type + " layer");
                Check.absent("bias", bias, "for a " + type + " layer");
                noConv(filters, kernel, stride, padding, type);
            }
        }
    }

    private static void noConv(Integer filters, Integer kernel, Integer stride, Integer padding, String type) {
        String why = "for a " + type + " layer";
        Check.absent("filters", filters, why);
        Check.absent("kernel", kernel, why);
        Check.absent("stride", stride, why);
        Check.absent("padding", padding, why);
    }

    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean isActivation() {
        return ACTIVATIONS.contains(type);
    }

    /** Whether the layer has parameters (and so a PyTorch index in the state dict). */
    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean hasParameters() {
        return type.equals("linear") || type.equals("conv2d");
    }

    private static List<String> concat(List<String> a, List<String> b) {
        var all = new java.util.ArrayList<>(a);
        all.addAll(b);
        return List.copyOf(all);
    }
}
