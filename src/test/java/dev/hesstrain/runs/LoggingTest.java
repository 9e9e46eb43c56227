package dev.hesstrain.runs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** A run log that cannot be written (a full disk) costs one warning line, not a stack trace per line. */
class LoggingTest {
    @Test
    void aRunLogOnAFullDiskGivesOneWarningLine() {
        Path full = Path.of("/dev/full"); // every write fails with ENOSPC
        Assumptions.assumeTrue(Files.isWritable(full), "no /dev/full here");
        PrintStream before = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            Logging.addRunLog(full, true);
            Logger log = LogManager.getLogger(LoggingTest.class);
            for (int i = 0; i < 3; i++) {
                log.info("line {}", i);
            }
        } finally {
            Logging.removeRunLog();
            System.setErr(before);
        }
        String text = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, text.lines().filter(l -> l.equals("warning: cannot write /dev/full (No space left on device); "
                + "its further lines are lost")).count(), text);
        assertFalse(text.contains("Exception"), text);
        assertFalse(text.contains("\tat "), text);
    }
}
