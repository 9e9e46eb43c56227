package dev.hesstrain.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Resident memory of this process, recorded at milestone steps to show that training stays flat. */
public final class Memory {
    private Memory() {}

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
