package dev.hesstrain.setup;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hesstrain.spec.Spec;
import dev.hesstrain.spec.SpecLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The training preflight's figures, and what it refuses with which suggestion. No engine is needed. */
class PreflightTest {
    static final long GB = 1L << 30;

    static Spec spec(String... overrides) {
        return SpecLoader.load(Path.of("configs/sin2pi.yaml"), List.of(overrides));
    }

    @Test
    void sin2pisFiguresAreCountedFromTheSpec() {
        Spec s = spec();
        // 2-10-11-12-1: 2·10+10 + 10·11+11 + 11·12+12 + 12+1 = 308, as TrainCommandTest reads from summary.json
        assertEquals(308, Preflight.parameters(s, 2));
        assertEquals(List.of(10L, 10L, 11L, 11L, 12L, 12L, 1L), Preflight.widths(s, 2));
        Preflight.Estimate e = Preflight.estimate(s, 500, 400, 2, 1);
        assertEquals(308 * 4 * (3 + 2 + 2), e.parameterBytes(), "float32; values, gradients, joined, Adam's m and v, 2 copies");
        assertEquals(2L * 500 * 3 * 8 + 308 * 8, e.heapBytes(), "the data twice in float64, and the snapshot");
        assertEquals(400, e.batch());
        // the closed form at d = 2: 67 numbers of width in all, each with 1 + 2 + 1 arrays (value,
        // Jacobian, adjoint), and the formed Hessians of the 33 curvature rows, 1·33·2, 3 copies, plus the row
        assertEquals(((67 * 4 + 33 * 2) * 3 + 3) * 4, e.stepBytesPerRow());
        assertEquals("the exact penalty (closed form, frobenius)", e.pass());
    }

    @Test
    void conv12sWidthsFollowTheConvolutionShapes() {
        Spec s = SpecLoader.load(Path.of("configs/conv12.yaml"));
        assertEquals(23365, Preflight.parameters(s, 144), "as LauncherIT reads from diag.npy");
    }

    /**
     * The curvature pass's model, counted by hand for linear(3) - tanh - linear(2) on 4 inputs, 10
     * points, 2 loss columns, float32: values 10·(3 + 3 + 2) = 80; the peak at the first layer, the
     * GGN's 2 columns of 3 features and the residual dense 3×3 per point, 60 + 90 = 150, with five
     * temporaries of that size: 900; (80 + 900)·4 bytes. Without the residual, 60·6 at the tanh.
     */
    @Test
    void theCurvaturePassIsCountedFromTheSpec() {
        Spec s = spec("model.layers=[{type: linear, units: 3}, {type: tanh}, {type: linear, units: 2}]");
        assertEquals((80 + 900) * 4, Preflight.curvaturePassBytes(s, 4, 10, 2, true));
        assertEquals((80 + 360) * 4, Preflight.curvaturePassBytes(s, 4, 10, 2, false));
        Spec conv = SpecLoader.load(Path.of("configs/conv12.yaml"));
        // conv12: values 8·(4608 + 4608 + 5) + the unfolded input 8·9·144; the peak at the convolution: 5 columns
        // of 4608 features, and the per-sample kernel gradients 5·8·32·9 beside them
        long values = 8L * (4608 + 4608 + 5) + 8L * 9 * 144;
        long carried = 5L * 8 * 4608;
        assertEquals((values + carried + (carried + 5L * 8 * 32 * 9) * 5) * 4,
                Preflight.curvaturePassBytes(conv, 144, 8, 5, true));
    }

    @Test
    void aMillionUnitsAtFullBatchIsRefusedWithABatchThatFits() {
        Spec s = spec("model.layers[0].units=10000000");
        Preflight.Memory mem = new Preflight.Memory(4 * GB, 16 * GB);
        Preflight.TooLarge e = assertThrows(Preflight.TooLarge.class, () -> Preflight.check(s, 500, 400, 2, 1, mem));
        String m = e.getMessage();
        assertTrue(m.startsWith("the run will not fit in memory: it needs about "), m);
        assertTrue(m.contains("the 140000168 parameters with their gradients and adam state 3.7 GB"), m);
        assertTrue(m.contains("one training step of 400 rows with the exact penalty (closed form, frobenius) "), m);
        assertTrue(m.contains("but 16.0 GB are free (MemAvailable)"), m);
        // (0.8 · 16 GB − 3.7 GB − data − 64 MB) / ((20,000,047 widths · 4 + 10,000,023 curvature rows · 2 of
        // formed Hessians) · 3 copies · 4 B + 12 B) = 8 rows
        assertTrue(m.contains("What would fit: a batch of at most 8 rows (--set train.batch_size=8)"), m);
        assertDoesNotThrow(() -> Preflight.check(spec("model.layers[0].units=10000000", "train.batch_size=8"), 500, 400,
                2, 1, mem));
    }

    @Test
    void anExactPenaltyThatCannotFitSuggestsHutchinson() {
        // 300 inputs and 4,000 units: the closed form's Jacobians are 300 numbers per unit and row
        Spec s = spec("data.inputs=300", "model.layers[0].units=4000", "model.layers[2].units=4000",
                "data.samples=2000");
        Preflight.Memory mem = new Preflight.Memory(4 * GB, 8 * GB);
        Preflight.Estimate est = Preflight.estimate(s, 2000, 1600, 300, 1);
        assertEquals("the exact penalty (closed form, frobenius)", est.pass());
        assertTrue(est.nativeBytes() > 8 * GB, Preflight.bytes(est.nativeBytes()));
        String m = assertThrows(Preflight.TooLarge.class, () -> Preflight.check(s, 2000, 1600, 300, 1, mem)).getMessage();
        assertTrue(m.contains("with the exact penalty (closed form, frobenius)"), m);
        assertTrue(m.contains("; or penalty.method: hutchinson (about "), m);
        assertTrue(m.contains("--set train.batch_size="), m);
        assertDoesNotThrow(() -> Preflight.check(spec("data.inputs=300", "model.layers[0].units=4000",
                "model.layers[2].units=4000", "data.samples=2000", "penalty.method=hutchinson"), 2000, 1600, 300, 1, mem));
    }

    @Test
    void sin2piOn300InputsFitsWithTheClosedForm() {
        // issue 10, 3 said this grew past 8-12 GB (the Taylor pass, 45,150 pairs); with the closed form a
        // 3-epoch run peaked at 361 MB resident (/usr/bin/time), and the estimate of its step is 100 MB
        Spec s = spec("data.inputs=300");
        Preflight.Estimate e = Preflight.estimate(s, 500, 400, 300, 1);
        assertEquals("the exact penalty (closed form, frobenius)", e.pass());
        // 67 widths · (1 + 300 + 1) + the Gram matrix of the 33 tanh rows, 3 copies, plus the row, in float32
        assertEquals(((67L * 302 + 33 * 33) * 3 + 301) * 4, e.stepBytesPerRow());
        assertTrue(e.nativeBytes() < 200L << 20, Preflight.bytes(e.nativeBytes()));
        assertDoesNotThrow(() -> Preflight.check(s, 500, 400, 300, 1, new Preflight.Memory(GB, GB)));
    }

    @Test
    void aBillionSamplesAreRefusedBeforeTheyAreGenerated() {
        Spec s = spec("data.samples=1000000000");
        Preflight.Memory mem = new Preflight.Memory(6 * GB, 16 * GB);
        String m = assertThrows(Preflight.TooLarge.class, () -> Preflight.checkGenerated(s, mem)).getMessage();
        assertEquals("the data will not fit in the JVM's heap: 1000000000 samples of 2 inputs and 1 target(s) are "
                + "3000000000 float64 numbers, held twice (as read, and split), 44.7 GB, but the heap has 6.0 GB free. "
                + "Use at most 107374182 samples (data.samples), or give the JVM more heap (HESSTRAIN_JAVA_OPTS=-Xmx...)", m);
        String big = assertThrows(Preflight.TooLarge.class,
                () -> Preflight.checkGenerated(spec("data.samples=2000000000"), new Preflight.Memory(1L << 50, -1)))
                .getMessage();
        assertTrue(big.contains("more than a Java array holds"), big);
    }

    @Test
    void unknownMemoryRefusesNothingAndMemAvailableIsRead(@TempDir Path tmp) throws IOException {
        assertDoesNotThrow(() -> Preflight.check(spec("model.layers[0].units=10000000"), 500, 400, 2, 1,
                new Preflight.Memory(-1, -1)));
        Path meminfo = tmp.resolve("meminfo");
        Files.writeString(meminfo, "MemTotal:       24576000 kB\nMemFree:  100 kB\nMemAvailable:   12288000 kB\n");
        assertEquals(12288000L * 1024, Preflight.Memory.memAvailable(meminfo));
        assertEquals(-1, Preflight.Memory.memAvailable(tmp.resolve("none")));
    }
}
