package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * An experiment: what data, which model, which loss and penalty, how to train. Every record
 * validates itself in its constructor, so an instance is always valid.
 */
@JsonPropertyOrder({"name", "seed", "dtype", "device", "data", "model", "loss", "penalty", "train", "sweep", "monitor"})
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Spec(
        @JsonProperty("name") String name,
        @JsonProperty("seed") Long seed,
        @JsonProperty("dtype") DType dtype,
        @JsonProperty("device") DeviceKind device,
        @JsonProperty("data") DataSpec data,
        @JsonProperty("model") ModelSpec model,
        @JsonProperty("loss") LossKind loss,
        @JsonProperty("penalty") PenaltySpec penalty,
        @JsonProperty("train") TrainSpec train,
        @JsonProperty("sweep") SweepSpec sweep,
        @JsonProperty("monitor") MonitorSpec monitor) {

    public Spec {
        Check.required("name", name);
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
            throw new SpecException(
                    "name", "must be letters, digits, '.', '_' or '-' (it names the run), found '" + name + "'");
        }
        seed = seed == null ? 0L : seed;
        dtype = dtype == null ? DType.FLOAT32 : dtype;
        device = device == null ? DeviceKind.AUTO : device;
        Check.required("data", data);
        Check.required("model", model);
        loss = loss == null ? LossKind.MSE : loss;
        penalty = penalty == null ? PenaltySpec.none() : penalty;
        train = train == null ? TrainSpec.defaults() : train;
    }

    /** Whether the targets are class labels (cross_entropy, nll) rather than real values (mse). */
    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean isClassification() {
        return loss.classification();
    }

    /**
     * Valid but probably unintended choices, as sentences for the user: nll on outputs that are not
     * log-probabilities (a last layer other than log_softmax) has no lower bound, and trains to a
     * negative loss.
     */
    @com.fasterxml.jackson.annotation.JsonIgnore
    public List<String> warnings() {
        List<String> w = new ArrayList<>();
        LayerType last = model.layers().get(model.layers().size() - 1).type();
        if (loss == LossKind.NLL && last != LayerType.LOG_SOFTMAX) {
            w.add("loss nll expects log-probabilities, but the model's last layer is " + last + ", not log_softmax:"
                    + " the loss has no lower bound and will turn negative. End the model with {type: log_softmax},"
                    + " or use loss cross_entropy on its logits.");
        }
        return w;
    }

    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean isFloat64() {
        return dtype == DType.FLOAT64;
    }
}
