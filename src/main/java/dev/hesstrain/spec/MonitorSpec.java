package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * What to measure while training, beside the loss (issue 20): the sharpness (λ_max of the data
 * loss's Hessian w.r.t. the parameters, {@code hessian/Sharpness}) every {@code sharpness_every}
 * epochs and at the last, and the exact trace of that Hessian every {@code hessian_trace_every}
 * epochs and at the last, both on the first {@code samples} training points (default: all, up to
 * {@link #DEFAULT_SAMPLES}).
 */
@JsonPropertyOrder({"sharpness_every", "samples", "hessian_trace_every"})
@JsonInclude(JsonInclude.Include.NON_NULL)
public record MonitorSpec(
        @JsonProperty("sharpness_every") Integer sharpnessEvery,
        @JsonProperty("samples") Integer samples,
        @JsonProperty("hessian_trace_every") Integer hessianTraceEvery) {

    /** Training points measured when {@code samples} is not given: all of them, up to this many. */
    public static final int DEFAULT_SAMPLES = 1000;

    public MonitorSpec {
        if (sharpnessEvery == null && hessianTraceEvery == null) {
            throw new SpecException("sharpness_every", "monitor needs sharpness_every or hessian_trace_every (a "
                    + "positive number of epochs)");
        }
        if (sharpnessEvery != null) {
            Check.positive("sharpness_every", sharpnessEvery);
        }
        if (hessianTraceEvery != null) {
            Check.positive("hessian_trace_every", hessianTraceEvery);
        }
        if (samples != null) {
            Check.positive("samples", samples);
        }
    }

    /** The points measured out of {@code trainingPoints}: the first {@code samples}, or all up to {@link #DEFAULT_SAMPLES}. */
    public int points(int trainingPoints) {
        return Math.min(trainingPoints, samples == null ? DEFAULT_SAMPLES : samples);
    }

    /** Whether the sharpness is measured at the end of {@code epoch} (1-based) of {@code epochs}. */
    public boolean sharpnessAt(int epoch, int epochs) {
        return due(sharpnessEvery, epoch, epochs);
    }

    /** Whether the exact Hessian trace is measured at the end of {@code epoch} (1-based) of {@code epochs}. */
    public boolean hessianTraceAt(int epoch, int epochs) {
        return due(hessianTraceEvery, epoch, epochs);
    }

    private static boolean due(Integer every, int epoch, int epochs) {
        return every != null && (epoch % every == 0 || epoch == epochs);
    }
}
