package dev.hesstrain.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.LongFunction;
import org.junit.jupiter.api.Test;

class SeedsTest {
    private static final int DRAWS = 2000;
    private static final int MAX_LAG = 3;
    /** Under independence one correlation of 2,000 draws has sd 1/√2000 = 0.022; 0.12 is 5.4 sd. */
    private static final double BOUND = 0.12;

    /** The first draws of every stream a run with seeds 0..9 uses, as the code consumes them. */
    private static Map<String, double[]> streams(LongFunction<Map<String, SplittableRandom>> perSeed) {
        Map<String, double[]> out = new LinkedHashMap<>();
        for (long seed = 0; seed < 10; seed++) {
            for (Map.Entry<String, SplittableRandom> e : perSeed.apply(seed).entrySet()) {
                double[] d = new double[DRAWS];
                for (int i = 0; i < DRAWS; i++) {
                    d[i] = e.getValue().nextDouble();
                }
                out.put("seed " + seed + " " + e.getKey(), d);
            }
        }
        return out;
    }

    private static Map<String, SplittableRandom> current(long seed) {
        Map<String, SplittableRandom> m = new LinkedHashMap<>();
        SplittableRandom data = new SplittableRandom(Seeds.data(seed)); // as data/Generator splits it
        m.put("data inputs", data.split());
        m.put("data noise", data.split());
        m.put("init", new SplittableRandom(Seeds.init(seed)));
        m.put("shuffle", new SplittableRandom(Seeds.shuffle(seed)));
        m.put("split", new SplittableRandom(Seeds.split(seed)));
        m.put("probes", new SplittableRandom(Seeds.probes(seed)));
        return m;
    }

    /** The scheme before: data seed, init seed + 1, shuffle + 2, split + 3, probes + 4. */
    private static Map<String, SplittableRandom> offsets(long seed) {
        Map<String, SplittableRandom> m = new LinkedHashMap<>();
        m.put("data", new SplittableRandom(seed));
        m.put("init", new SplittableRandom(seed + 1));
        m.put("shuffle", new SplittableRandom(seed + 2));
        m.put("split", new SplittableRandom(seed + 3));
        m.put("probes", new SplittableRandom(seed + 4));
        return m;
    }

    /** The largest |Pearson correlation| of any two streams, at lags 0..MAX_LAG either way. */
    private static double worst(Map<String, double[]> s, List<String> where) {
        List<String> names = new ArrayList<>(s.keySet());
        double worst = 0;
        for (int a = 0; a < names.size(); a++) {
            for (int b = a + 1; b < names.size(); b++) {
                for (int lag = -MAX_LAG; lag <= MAX_LAG; lag++) {
                    double r = Math.abs(correlation(s.get(names.get(a)), s.get(names.get(b)), lag));
                    if (r > worst) {
                        worst = r;
                        where.clear();
                        where.add(names.get(a) + " vs " + names.get(b) + " at lag " + lag);
                    }
                }
            }
        }
        return worst;
    }

    private static double correlation(double[] x, double[] y, int lag) {
        int n = DRAWS - Math.abs(lag);
        int ox = Math.max(0, lag);
        int oy = Math.max(0, -lag);
        double mx = 0;
        double my = 0;
        for (int i = 0; i < n; i++) {
            mx += x[ox + i];
            my += y[oy + i];
        }
        mx /= n;
        my /= n;
        double sxy = 0;
        double sxx = 0;
        double syy = 0;
        for (int i = 0; i < n; i++) {
            double dx = x[ox + i] - mx;
            double dy = y[oy + i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        return sxy / Math.sqrt(sxx * syy);
    }

    @Test
    void streamSeedsOfSeedsZeroToNineAndEveryPurposeArePairwiseDistinct() {
        Set<Long> seen = new HashSet<>();
        for (long seed = 0; seed < 10; seed++) {
            for (Seeds.Purpose p : Seeds.Purpose.values()) {
                assertTrue(seen.add(Seeds.of(seed, p)), "seed " + seed + " " + p + " repeats a stream seed");
            }
        }
        assertEquals(10 * Seeds.Purpose.values().length, seen.size());
        // and the named helpers are those streams
        assertEquals(Seeds.of(7, Seeds.Purpose.INIT), Seeds.init(7));
        assertEquals(Seeds.of(7, Seeds.Purpose.DATA), Seeds.data(7));
    }

    @Test
    void firstDrawsOfAllStreamsAreUncorrelated() {
        Map<String, double[]> s = streams(SeedsTest::current);
        assertEquals(60, s.size());
        List<String> where = new ArrayList<>();
        double worst = worst(s, where);
        assertTrue(worst < BOUND, "max |correlation| " + worst + " at " + where);
    }

    @Test
    void theCheckCatchesTheOldOffsetScheme() {
        // seed s's init stream was seed s+1's data stream: identical draws, correlation 1
        List<String> where = new ArrayList<>();
        double worst = worst(streams(SeedsTest::offsets), where);
        assertEquals(1.0, worst, 1e-12, "at " + where);
    }

    @Test
    void mix64IsSplittableRandomsFinaliser() {
        // new SplittableRandom(s).nextLong() is mix64(s + GOLDEN_GAMMA)
        long gamma = 0x9E3779B97F4A7C15L;
        for (long s : new long[] {0, 1, -1, 42, Long.MAX_VALUE}) {
            assertEquals(new SplittableRandom(s).nextLong(), Seeds.mix64(s + gamma));
        }
    }
}
