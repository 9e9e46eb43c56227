package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;

/**
 * The curvature penalty λ · mean over samples of Σ over outputs of a norm of the input Hessian.
 */
@JsonPropertyOrder({"lambda", "norm", "method", "probes", "distribution", "exact_every"})
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PenaltySpec(
        @JsonProperty("lambda") Double lambda,
        @JsonProperty("norm") Norm norm,
        @JsonProperty("method") PenaltyMethod method,
        @JsonProperty("probes") Integer probes,
        @JsonProperty("distribution") Distribution distribution,
        @JsonProperty("exact_every") Integer exactEvery) {

    public PenaltySpec {
        lambda = Check.nonNegative("lambda", lambda == null ? 0.0 : lambda);
        norm = norm == null ? Norm.FROBENIUS : norm;
        method = method == null ? PenaltyMethod.EXACT : method;
        if (method == PenaltyMethod.HUTCHINSON) {
            probes = Check.positive("probes", probes == null ? 1 : probes);
            distribution = distribution == null ? Distribution.RADEMACHER : distribution;
            exactEvery = Check.atLeast("exact_every", exactEvery == null ? 1 : exactEvery, 0);
        } else {
            Check.absent("probes", probes, "with method exact");
            Check.absent("distribution", distribution, "with method exact");
            Check.absent("exact_every", exactEvery, "with method exact (the penalty is exact every step)");
        }
    }

    public static PenaltySpec none() {
        return new PenaltySpec(0.0, null, null, null, null, null);
    }

    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean active() {
        return lambda > 0;
    }
}
