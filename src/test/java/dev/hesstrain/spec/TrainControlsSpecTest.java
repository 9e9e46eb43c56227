package dev.hesstrain.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** train.schedule, train.weight_decay and train.early_stopping: defaults, validation, round trip. */
class TrainControlsSpecTest {
    static final Path SIN2PI = SpecLoaderTest.SIN2PI;

    @Test
    void defaultsAreAConstantRateNoDecayAndNoEarlyStopping() {
        TrainSpec t = SpecLoader.load(SIN2PI).train();
        assertEquals(ScheduleKind.CONSTANT, t.schedule().type());
        assertEquals(0, t.schedule().warmupEpochs());
        assertNull(t.schedule().startFactor());
        assertEquals(0.0, t.weightDecay());
        assertNull(t.earlyStopping());
    }

    @Test
    void fieldsTakeTorchDefaults() {
        TrainSpec t = SpecLoader.load(SIN2PI, List.of("train.schedule={type: step, step_size: 5}",
                "train.early_stopping={}", "train.weight_decay=0.01")).train();
        assertEquals(0.1, t.schedule().gamma()); // StepLR's default
        assertEquals(3, t.earlyStopping().patience()); // Lightning's default
        assertEquals(0.0, t.earlyStopping().minDelta());
        assertEquals(0.01, t.weightDecay());
        ScheduleSpec c = SpecLoader.load(SIN2PI, List.of("train.schedule={type: cosine, warmup_epochs: 2}"))
                .train().schedule();
        assertNull(c.tMax()); // the epochs after the warm-up, resolved by the trainer
        assertEquals(0.0, c.etaMin());
        assertEquals(1.0 / 3, c.startFactor()); // LinearLR's default
    }

    @Test
    void badValuesNameTheirField() {
        assertEquals("configs/sin2pi.yaml (--set train.weight_decay=-1): train.weight_decay: must not be negative, found -1.0",
                error("train.weight_decay=-1"));
        assertEquals("configs/sin2pi.yaml (--set train.schedule={type: step}): train.schedule.step_size: is required",
                error("train.schedule={type: step}"));
        assertEquals("configs/sin2pi.yaml (--set train.schedule={type: cosine, gamma: 0.5}): train.schedule.gamma: "
                + "is not allowed with type cosine", error("train.schedule={type: cosine, gamma: 0.5}"));
        assertEquals("configs/sin2pi.yaml (--set train.schedule={warmup_epochs: 2, start_factor: 2}): "
                + "train.schedule.start_factor: must be at most 1, found 2.0",
                error("train.schedule={warmup_epochs: 2, start_factor: 2}"));
        assertEquals("configs/sin2pi.yaml (--set train.schedule={start_factor: 0.5}): train.schedule.start_factor: "
                + "is not allowed without warmup_epochs", error("train.schedule={start_factor: 0.5}"));
        assertEquals("configs/sin2pi.yaml (--set train.early_stopping={patience: 0}): train.early_stopping.patience: "
                + "must be positive, found 0", error("train.early_stopping={patience: 0}"));
    }

    @Test
    void unknownKeysAreErrors() {
        String m = error("train.schedule={type: step, step_size: 2, gama: 0.5}");
        assertEquals(true, m.contains("train.schedule.gama: unknown key 'gama'"), m);
    }

    @Test
    void resolvedSpecRoundTrips(@TempDir Path dir) throws IOException {
        Spec s = SpecLoader.load(SIN2PI, List.of("train.schedule={type: cosine, t_max: 9, eta_min: 1e-4, warmup_epochs: 3}",
                "train.early_stopping={patience: 4, min_delta: 1e-3}", "train.weight_decay=0.1"));
        Path yaml = dir.resolve("resolved.yaml");
        Files.writeString(yaml, SpecLoader.toYaml(s));
        assertEquals(s, SpecLoader.load(yaml));
    }

    private static String error(String set) {
        return assertThrows(SpecException.class, () -> SpecLoader.load(SIN2PI, List.of(set))).getMessage();
    }
}
