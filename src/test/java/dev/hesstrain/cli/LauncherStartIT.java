package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The launcher's class-data-sharing archive (issue 10, friction: start-up): recorded once per jar,
 * and valid for it, so that -Xshare:on (which fails where an archive cannot be mapped) maps it.
 */
class LauncherStartIT {
    @Test
    void theLauncherRecordsAnArchiveThatTheJarMaps() throws Exception {
        String[] r = QuietStderrIT.run(Map.of(), "", "./hesstrain", "--version");
        assertEquals("0", r[0], r[2]);
        Path jsa = Path.of("target/hesstrain.jsa");
        assertTrue(Files.isRegularFile(jsa), "no archive after the first run: " + r[2]);
        assertTrue(Files.getLastModifiedTime(jsa).compareTo(Files.getLastModifiedTime(LauncherIT.JAR)) >= 0,
                "the archive is as new as the jar");
        String[] on = QuietStderrIT.run(Map.of(), "", "java", "-XX:+UseSerialGC", "-Xshare:on",
                "-XX:SharedArchiveFile=" + jsa, "-jar", LauncherIT.JAR.toString(), "--version");
        assertEquals("0", on[0], "the archive maps: " + on[1] + on[2]);
        assertTrue(on[1].startsWith("hesstrain "), on[1]);
        String[] again = QuietStderrIT.run(Map.of(), "", "./hesstrain", "--version");
        assertEquals("0", again[0], again[2]);
        assertTrue(!again[2].contains("recording the class archive"), "recorded once: " + again[2]);
    }
}
