package dev.hesstrain.sweep;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hesstrain.spec.Spec;

/**
 * The structure of a member: everything that must be equal for members to train as one stacked
 * program (the layers and input shape, dtype and device, batch size and epochs, loss, the
 * penalty's norm, method, probes and distribution, the optimizer, and the data source and size).
 * Seed, λ, learning rate and momentum are per member and not part of it.
 */
public final class Structure {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Structure() {}

    /** A canonical JSON text of the structure: equal texts, one group. */
    public static String key(Spec s) {
        ObjectNode n = JSON.createObjectNode();
        n.set("layers", JSON.valueToTree(s.model()));
        n.put("dtype", String.valueOf(s.dtype()));
        n.put("device", String.valueOf(s.device()));
        n.put("loss", String.valueOf(s.loss()));
        n.put("batch_size", s.train().batchSize() == null ? -1 : s.train().batchSize());
        n.put("epochs", s.train().epochs());
        n.put("optimizer", String.valueOf(s.train().optimizer()));
        n.put("norm", String.valueOf(s.penalty().norm()));
        n.put("method", String.valueOf(s.penalty().method()));
        n.set("probes", JSON.valueToTree(s.penalty().probes()));
        n.set("distribution", JSON.valueToTree(s.penalty().distribution()));
        n.set("exact_every", JSON.valueToTree(s.penalty().exactEvery()));
        n.put("generator", s.data().generator());
        n.put("file", s.data().file());
        n.set("targets", JSON.valueToTree(s.data().targets()));
        n.set("inputs", JSON.valueToTree(s.data().inputs()));
        n.set("samples", JSON.valueToTree(s.data().samples()));
        n.set("validation", JSON.valueToTree(s.data().validation()));
        n.put("checkpoint_every", s.train().checkpointEvery());
        return n.toString();
    }
}
