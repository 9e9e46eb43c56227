package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * One layer, as in {@code torch.nn.Sequential}: activations are layers too. Fields that do not
 * apply to the type are rejected.
 */
@JsonPropertyOrder({"type", "units", "bias", "filters", "kernel", "stride", "padding"})
@JsonInclude(JsonInclude.Include.NON_NULL)
public record LayerSpec(
        @JsonProperty("type") LayerType type,
        @JsonProperty("units") Integer units,
        @JsonProperty("bias") Boolean bias,
        @JsonProperty("filters") Integer filters,
        @JsonProperty("kernel") Integer kernel,
        @JsonProperty("stride") Integer stride,
        @JsonProperty("padding") Integer padding) {

    public LayerSpec {
        Check.required("type", type);
        switch (type) {
            case LINEAR -> {
                Check.positive("units", units);
                bias = bias == null ? Boolean.TRUE : bias;
                noConv(filters, kernel, stride, padding, type);
            }
            case CONV2D -> {
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

    private static void noConv(Integer filters, Integer kernel, Integer stride, Integer padding, LayerType type) {
        String why = "for a " + type + " layer";
        Check.absent("filters", filters, why);
        Check.absent("kernel", kernel, why);
        Check.absent("stride", stride, why);
        Check.absent("padding", padding, why);
    }

    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean isActivation() {
        return type.isActivation();
    }

    /** Whether the layer has parameters (and so a PyTorch index in the state dict). */
    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean hasParameters() {
        return type.hasParameters();
    }
}
