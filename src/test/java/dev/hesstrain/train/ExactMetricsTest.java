package dev.hesstrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.hesstrain.hessian.InputHessian;
import dev.hesstrain.model.Network;
import dev.hesstrain.spec.Norm;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Issue 9: the exact penalty's step computes only what the step needs; the metrics come at their cadence. */
class ExactMetricsTest {

    /**
     * A training step with the closed form's trace or diagonal penalty computes no Frobenius norm
     * (the Gram matrices only served the metrics); the trainer fills hessian_fro_* every
     * train.eval_every epochs (and at the last) from the whole training set instead, so the last
     * row equals summary.json's final figure, and leaves them empty on the other epochs. With the
     * frobenius penalty the step's own norms fill every row.
     */
    @ParameterizedTest
    @ValueSource(strings = {"trace", "diagonal", "frobenius"})
    void metricsNormsAtTheEpochCadence(String norm, @org.junit.jupiter.api.io.TempDir java.nio.file.Path root)
            throws java.io.IOException {
        dev.hesstrain.spec.Spec spec = HutchinsonTrainingTest.spec("train.epochs=3",
                "train.eval_every=2", "penalty.lambda=0.01", "penalty.norm=" + norm);
        try (NDManager m = NDManager.newBaseManager()) {
            Network net = dev.hesstrain.hessian.ClosedFormTest.mlp(m, "tanh", 4, 1, DataType.FLOAT32, 3);
            try (InputHessian ih = new InputHessian(net)) {
                assertEquals(InputHessian.Method.CLOSED_FORM, ih.method());
                Objective o = new Objective(net, dev.hesstrain.spec.LossKind.MSE,
                        0.01, Norm.valueOf(norm.toUpperCase(java.util.Locale.ROOT)), ih);
                try (NDManager s = m.newSubManager()) {
                    NDArray x = s.create(dev.hesstrain.hessian.ClosedFormTest.points(6, 4, 2), new Shape(6, 4)).toType(DataType.FLOAT32, false);
                    NDArray y = s.zeros(new Shape(6, 1), DataType.FLOAT32);
                    assertEquals(norm.equals("frobenius"), o.evaluate(x, y, true).fro() != null, norm);
                    assertTrue(o.evaluateExact(x, y).fro() != null);
                }
            }
        }
        List<String> lines = HutchinsonTrainingTest.metrics(spec, root, "run");
        int col = List.of(lines.get(0).split(",")).indexOf("hessian_fro_mean");
        assertTrue(col > 0, lines.get(0));
        for (int epoch = 1; epoch < lines.size(); epoch++) {
            String line = lines.get(epoch);
            String cell = line.split(",", -1)[col];
            if (norm.equals("frobenius") || epoch != 1) {
                assertTrue(Double.parseDouble(cell) > 0, line);
            } else {
                assertEquals("", cell, "epoch 1 is not evaluated: " + line);
            }
        }
        double last = Double.parseDouble(lines.get(lines.size() - 1).split(",")[col]);
        double summary = dev.hesstrain.runs.Json.readTree(root.resolve("run/summary.json")).get("hessian_fro_mean")
                .asDouble();
        if (norm.equals("frobenius")) {
            assertNotEquals(summary, last, 1e-6 * summary, "the training batches' figures, before each step");
        } else {
            assertEquals(summary, last, 1e-5 * summary, "the training set's figure after the epoch's steps");
        }
    }
}
