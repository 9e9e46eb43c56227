package dev.hesstrain.inspect;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Up-front checks that an output fits on disk, and that what must be held fits in the heap. */
final class Budget {
    static final String ALTERNATIVES = "compute diag, trace, eigs or hvp instead: they never build the matrix";

    private Budget() {}

    /** Refuses when {@code bytes} exceed {@code usable} bytes free where {@code what} is written. */
    static void disk(String what, long bytes, long usable, Path where) {
        if (bytes > usable) {
            throw new InspectException(what + " needs " + size(bytes) + " on disk but only " + size(usable)
                    + " are free at " + where + "; free some space, choose another --out, or " + ALTERNATIVES);
        }
    }

    /** Refuses when {@code bytes} exceed what the heap can still hold. */
    static void heap(String what, long bytes, long available) {
        if (bytes > available) {
            throw new InspectException(what + " needs " + size(bytes) + " in memory but the Java heap has " + size(available)
                    + " (raise it with HESSTRAIN_JAVA_OPTS=-Xmx...), or " + ALTERNATIVES);
        }
    }

    /** Refuses when {@code bytes} of engine (native) memory exceed what the machine has available. */
    static void memory(String what, long bytes, long available) {
        memory(what, bytes, available, "give fewer or smaller --points");
    }

    /** As {@link #memory(String, long, long)}, with the first {@code advice} for what would fit. */
    static void memory(String what, long bytes, long available, String advice) {
        if (bytes > available) {
            throw new InspectException(what + " needs " + size(bytes) + " of memory but the machine has " + size(available)
                    + " available; " + advice + ", or " + ALTERNATIVES);
        }
    }

    /**
     * Bytes the machine can still give without swapping: MemAvailable of /proc/meminfo where there is
     * one, else the free physical memory the JVM reports.
     */
    static long availableMemory() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: the JVM's figure below
        }
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return sun.getFreeMemorySize();
        }
        return Long.MAX_VALUE;
    }

    /** Free bytes on the file store of {@code dir}, or of its nearest existing ancestor. */
    static long usableSpace(Path dir) throws IOException {
        Path p = dir.toAbsolutePath();
        while (p != null && !Files.exists(p)) {
            p = p.getParent();
        }
        if (p == null) {
            return Long.MAX_VALUE;
        }
        return Files.getFileStore(p).getUsableSpace();
    }

    /** Bytes the heap can still give: the maximum less what is in use. */
    static long availableHeap() {
        Runtime rt = Runtime.getRuntime();
        return rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
    }

    static String size(long bytes) {
        if (bytes < 1024) {
            return bytes + " bytes";
        }
        String[] units = {"KB", "MB", "GB", "TB", "PB"};
        double v = bytes;
        int u = -1;
        while (v >= 1000 && u < units.length - 1) {
            v /= 1000;
            u++;
        }
        return String.format(Locale.ROOT, "%.3g %s", v, units[Math.max(u, 0)]);
    }
}
