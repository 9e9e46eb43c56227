package dev.hesstrain.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hesstrain.spec.DataSpec;
import dev.hesstrain.spec.SpecException;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class GeneratorTest {
    private static DataSpec spec(String expr, int inputs, int samples, double lo, double hi, double noise) {
        return new DataSpec(expr, null, null, inputs, samples, List.of(lo, hi), noise, null);
    }

    @Test
    void sameSeedSameDataOtherSeedOtherData() {
        DataSpec s = spec("sin(2*pi*x1*x2)", 2, 500, -1, 1, 0.1);
        Dataset a = Generator.generate(s, 42);
        Dataset b = Generator.generate(s, 42);
        Dataset c = Generator.generate(s, 43);
        assertArrayEquals(a.x(), b.x());
        assertArrayEquals(a.y(), b.y());
        assertEquals(a.sha256(), b.sha256());
        assertFalse(Arrays.equals(a.x(), c.x()));
        assertFalse(Arrays.equals(a.y(), c.y()));
    }

    @Test
    void targetsAreTheExpression() {
        Dataset data = Generator.generate(spec("sin(2*pi*x1*x2)", 2, 1000, -1, 1, 0.0), 5);
        assertEquals(1000, data.n());
        assertEquals(2, data.d());
        assertEquals(1, data.o());
        assertEquals(List.of("x1", "x2"), data.inputNames());
        assertEquals(List.of("y"), data.targetNames());
        assertEquals("sin(2*pi*x1*x2)", data.source());
        for (int i = 0; i < data.n(); i++) {
            double expected = Math.sin(2 * Math.PI * data.x(i, 0) * data.x(i, 1));
            assertEquals(expected, data.y(i, 0), 1e-12, "row " + i);
        }
    }

    @Test
    void inputsStayInTheDomainAndFillIt() {
        Dataset data = Generator.generate(spec("x1 + x2 + x3", 3, 3000, 2.0, 5.0, 0.0), 9);
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (double v : data.x()) {
            assertTrue(v >= 2.0 && v < 5.0, "out of domain: " + v);
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertTrue(min < 2.01 && max > 4.99, "domain not covered: [" + min + ", " + max + "]");
        // column means near the middle of the domain
        for (int j = 0; j < 3; j++) {
            double sum = 0;
            for (int i = 0; i < data.n(); i++) {
                sum += data.x(i, j);
            }
            assertEquals(3.5, sum / data.n(), 0.1);
        }
    }

    @Test
    void noiseHasTheRequestedStandardDeviation() {
        int n = 20_000;
        Dataset data = Generator.generate(spec("x1", 1, n, -1, 1, 0.3), 123);
        double sum = 0;
        double sumSq = 0;
        double cross = 0;
        for (int i = 0; i < n; i++) {
            double r = data.y(i, 0) - data.x(i, 0);
            sum += r;
            sumSq += r * r;
            cross += r * data.x(i, 0);
        }
        double mean = sum / n;
        double std = Math.sqrt(sumSq / n - mean * mean);
        // normal, not only of the right spread: 68.27 % within one standard deviation (se 0.33 %)
        int within = 0;
        for (int i = 0; i < n; i++) {
            within += Math.abs(data.y(i, 0) - data.x(i, 0)) < 0.3 ? 1 : 0;
        }
        assertEquals(0.6827, within / (double) n, 0.012);
        // standard errors: mean 0.3/sqrt(n) = 0.0021, std 0.3/sqrt(2n) = 0.0015
        assertEquals(0.0, mean, 0.01);
        assertEquals(0.3, std, 0.006);
        assertEquals(0.0, cross / n, 0.01, "noise should not depend on x");
        // noise 0 gives the exact expression
        Dataset clean = Generator.generate(spec("x1", 1, 100, -1, 1, 0.0), 123);
        assertArrayEquals(clean.x(), clean.y());
    }

    @Test
    void nonFiniteValuesAreReported() {
        SpecException nan = assertThrows(SpecException.class,
                () -> Generator.generate(spec("sqrt(x1)", 1, 100, -1, 1, 0.0), 1));
        assertEquals("data.generator", nan.field());
        assertTrue(nan.getMessage().contains("is not finite"), nan.getMessage());
        assertTrue(nan.getMessage().contains("at x = [-"), nan.getMessage());

        SpecException div = assertThrows(SpecException.class,
                () -> Generator.generate(spec("1/(x1-x1)", 1, 10, -1, 1, 0.0), 1));
        assertEquals("data.generator", div.field());
        assertTrue(div.getMessage().contains("is not finite"), div.getMessage());
    }
}
