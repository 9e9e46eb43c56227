package dev.hesstrain.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Memory readings as a listener: the resident memory of this process at milestone steps and at
 * the last step, to show that training stays flat ({@code resident_mb_at_step} in summary.json).
 */
public final class Memory implements TrainingListener {
    private static final Logger LOG = LogManager.getLogger(Memory.class);
    private final Map<String, Double> readings = new LinkedHashMap<>();

    /** Step (as text, the JSON key) to resident MB, in step order. */
    public Map<String, Double> readings() {
        return Collections.unmodifiableMap(readings);
    }

    @Override
    public void onStepEnd(Trainer.Loop loop) {
        if (isMilestone(loop.steps())) {
            double mb = residentMegabytes();
            readings.put(Long.toString(loop.steps()), mb);
            LOG.info("step {}: resident memory {} MB", loop.steps(), String.format(Locale.ROOT, "%.1f", mb));
        }
    }

    @Override
    public void onTrainingEnd(Trainer.Loop loop) {
        readings.putIfAbsent(Long.toString(loop.steps()), residentMegabytes());
    }

    /** Steps 100, 1000, 2000, 5000, 10000, 20000, 50000, ... */
    public static boolean isMilestone(long step) {
        if (step == 100) {
            return true;
        }
        for (long base = 1000; base <= step; base *= 10) {
            if (step == base || step == 2 * base || step == 5 * base) {
                return true;
            }
        }
        return false;
    }

    /** VmRSS from /proc/self/status in MB, or NaN where that is not available. */
    public static double residentMegabytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux
        }
        return Double.NaN;
    }
}
