package dev.hesstrain.data;

import dev.hesstrain.spec.DataSpec;
import dev.hesstrain.spec.Expression;
import dev.hesstrain.spec.SpecException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Samples a dataset from a generator expression: x ~ Uniform(low, high)^d, drawn row by row;
 * y = f(x1..xd) + N(0, noise²). The inputs and the noise are two generators split from
 * {@code new SplittableRandom(seed)}, in that order, so they are independent. {@code seed} is the
 * run's data stream ({@code train/Seeds.data}). Fully reproducible from the seed.
 */
public final class Generator {
    private Generator() {}

    /** Samples {@code spec.samples()} rows; the spec must have a generator. */
    public static Dataset generate(DataSpec spec, long seed) {
        if (!spec.isGenerated()) {
            throw new IllegalArgumentException("the data spec has no generator");
        }
        String text = spec.generator();
        int d = spec.inputs();
        int n = spec.samples();
        double low = spec.domain().get(0);
        double high = spec.domain().get(1);
        double noise = spec.noise();

        net.objecthunter.exp4j.Expression f = Expression.parse("data.generator", text, d);
        List<String> names = new ArrayList<>(Expression.variables(d));
        SplittableRandom root = new SplittableRandom(seed);
        SplittableRandom inputs = root.split();
        SplittableRandom gaussian = root.split();

        double[] x = new double[n * d];
        double[] y = new double[n];
        double[] row = new double[d];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                row[j] = low + (high - low) * inputs.nextDouble();
                x[i * d + j] = row[j];
                f.setVariable(names.get(j), row[j]);
            }
            double value;
            try {
                value = f.evaluate();
            } catch (ArithmeticException | IllegalArgumentException e) {
                value = Double.NaN; // exp4j throws on division by zero and similar
            }
            if (!Double.isFinite(value)) {
                throw new SpecException("data.generator",
                        "the expression '" + text + "' is not finite (" + value + ") at x = " + Arrays.toString(row));
            }
            y[i] = noise > 0 ? value + noise * gaussian.nextGaussian() : value;
        }
        return new Dataset(x, y, n, d, 1, names, List.of("y"), text);
    }
}
