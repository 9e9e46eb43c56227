package dev.hesstrain.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;

/**
 * The figures of one step (or one evaluated chunk): the total loss, the data loss and the penalty,
 * and, when the pass computed them, the mean and max Frobenius norm of the input Hessian over the
 * chunk's rows (NaN otherwise); for classification, how many of the rows the model got right
 * (NaN otherwise).
 */
public record StepFigures(int rows, double loss, double data, double penalty, double froMean, double froMax,
        double correct) {

    /** Whether the Hessian norms were computed. */
    public boolean hasNorms() {
        return !Double.isNaN(froMean);
    }

    /**
     * Reads the figures from the 0-d arrays of {@code v}, after the backward pass and outside the
     * gradient collector (no graph is recorded), in one copy to Java: each read of a 0-d array
     * would be a JNI round trip and a copy of its own.
     */
    static StepFigures read(Objective.Values v, int rows, NDArray labels) {
        List<NDArray> parts = new ArrayList<>(List.of(v.total(), v.data(), v.penalty()));
        boolean norms = v.fro() != null;
        if (norms) {
            NDArray fro = v.fro().sqrt();
            parts.add(fro.mean());
            parts.add(fro.max());
        }
        if (labels != null) {
            parts.add(v.output().argMax(1).eq(labels).sum().toType(v.total().getDataType(), false));
        }
        double[] s = NDArrays.stack(new NDList(parts)).toType(DataType.FLOAT64, false).toDoubleArray();
        return new StepFigures(rows, s[0], s[1], s[2], norms ? s[3] : Double.NaN, norms ? s[4] : Double.NaN,
                labels != null ? s[s.length - 1] : Double.NaN);
    }
}
