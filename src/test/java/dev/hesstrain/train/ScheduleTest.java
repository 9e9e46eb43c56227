package dev.hesstrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.hesstrain.spec.ScheduleKind;
import dev.hesstrain.spec.ScheduleSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Schedule against torch.optim.lr_scheduler: src/test/resources/train/schedules.csv holds the rates
 * that StepLR, CosineAnnealingLR, LinearLR and SequentialLR give when stepped once per epoch
 * (written by schedules.py beside it).
 */
class ScheduleTest {
    static final double LR = 0.05;
    static final int EPOCHS = 30;

    static final Map<String, ScheduleSpec> CASES = Map.of(
            "constant", ScheduleSpec.constant(),
            "step", new ScheduleSpec(ScheduleKind.STEP, 7, 0.5, null, null, null, null),
            "cosine", new ScheduleSpec(ScheduleKind.COSINE, null, null, null, 0.001, null, null),
            "cosine_tmax10", new ScheduleSpec(ScheduleKind.COSINE, null, null, 10, null, null, null),
            "warmup_constant", new ScheduleSpec(null, null, null, null, null, 5, 0.1),
            "warmup_step", new ScheduleSpec(ScheduleKind.STEP, 5, 0.3, null, null, 4, 0.25),
            "warmup_cosine", new ScheduleSpec(ScheduleKind.COSINE, null, null, null, 0.002, 3, null));

    @Test
    void equalsPyTorchsSchedulers() throws IOException {
        List<String> rows = Files.readAllLines(Path.of("src/test/resources/train/schedules.csv"));
        int checked = 0;
        for (String row : rows) {
            if (row.startsWith("#")) {
                continue;
            }
            String[] f = row.split(",");
            Schedule s = new Schedule(CASES.get(f[0]), LR, EPOCHS);
            double expected = Double.parseDouble(f[2]);
            assertEquals(expected, s.lr(Integer.parseInt(f[1])), 1e-12 * LR, row);
            checked++;
        }
        assertEquals(CASES.size() * EPOCHS, checked);
    }
}
