package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.List;

/**
 * Where the data comes from: either a generator expression in x1..xd sampled uniformly from a
 * box, or a file (CSV with a header, or .npz with arrays x and y).
 */
@JsonPropertyOrder({"generator", "file", "targets", "inputs", "samples", "domain", "noise", "validation"})
@JsonInclude(JsonInclude.Include.NON_NULL)
public record DataSpec(
        @JsonProperty("generator") String generator,
        @JsonProperty("file") String file,
        @JsonProperty("targets") List<String> targets,
        @JsonProperty("inputs") Integer inputs,
        @JsonProperty("samples") Integer samples,
        @JsonProperty("domain") List<Double> domain,
        @JsonProperty("noise") Double noise,
        @JsonProperty("validation") Double validation) {

    public DataSpec {
        if ((generator == null) == (file == null)) {
            throw new SpecException("", "give exactly one of 'generator' and 'file'");
        }
        if (generator != null) {
            Check.positive("inputs", inputs);
            samples = Check.positive("samples", samples);
            domain = domain == null ? List.of(-1.0, 1.0) : List.copyOf(domain);
            if (domain.size() != 2) {
                throw new SpecException("domain", "must be [low, high], found " + domain.size() + " numbers");
            }
            Check.finite("domain", domain.get(0));
            Check.finite("domain", domain.get(1));
            if (!(domain.get(0) < domain.get(1))) {
                throw new SpecException("domain", "low must be below high, found " + domain);
            }
            noise = Check.nonNegative("noise", noise == null ? 0.0 : noise);
            Expression.validate("generator", generator, inputs);
            Check.absent("targets", targets, "with a generator");
        } else {
            if (file.isBlank()) {
                throw new SpecException("file", "must not be empty");
            }
            if (inputs != null) {
                Check.positive("inputs", inputs);
            }
            if (samples != null) {
                Check.positive("samples", samples);
            }
            Check.absent("domain", domain, "with a file");
            Check.absent("noise", noise, "with a file");
            targets = targets == null ? null : List.copyOf(targets);
        }
        validation = validation == null ? 0.2 : validation;
        Check.finite("validation", validation);
        if (validation < 0 || validation >= 1) {
            throw new SpecException("validation", "must be in [0, 1), found " + validation);
        }
    }

    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean isGenerated() {
        return generator != null;
    }
}
