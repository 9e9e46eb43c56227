package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/**
 * The curvature penalty λ · mean over samples of Σ over outputs of a norm of the input Hessian.
 */
@JsonPropertyOrder({"lambda", "norm", "method", "probes", "distribution", "exact_every"})
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PenaltySpec(
        @JsonProperty("lambda") Double lambda,
        @JsonProperty("norm") String norm,
        @JsonProperty("method") String method,
        @JsonProperty("probes") Integer probes,
        @JsonProperty("distribution") String distribution,
        @JsonProperty("exact_every") Integer exactEvery) {

    public static final List<String> NORMS = List.of("frobenius", "trace", "diagonal", "offdiagonal");
    public static final List<String> METHODS = List.of("exact", "hutchinson");
    public static final List<String> DISTRIBUTIONS = List.of("rademacher", "gaussian");

    public PenaltySpec {
        lambda = Check.nonNegative("lambda", lambda == null ? 0.0 : lambda);
        norm = Check.oneOf("norm", norm == null ? "frobenius" : norm, NORMS);
        method = Check.oneOf("method", method == null ? "exact" : method, METHODS);
        if (method.equals("hutchinson")) {
            probes = Check.positive("probes", probes == null ? 1 : probes);
            distribution = Check.oneOf("distribution", distribution == null ? "rademacher" : distribution, DISTRIBUTIONS);
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
