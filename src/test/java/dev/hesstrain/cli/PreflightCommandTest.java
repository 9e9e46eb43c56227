package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * issue 10, 3: runs that cannot fit were allowed to grow past 8-12 GB, or ended in an
 * OutOfMemoryError stack trace. Now they are refused before anything is allocated or created.
 */
class PreflightCommandTest {
    @Test
    void tenMillionUnitsAreRefusedWithTheNumbersAndABatchThatFits(@TempDir Path tmp) {
        Path run = tmp.resolve("run");
        CliRunner cli = new CliRunner();
        assertEquals(2, cli.run("train", "--config", "configs/sin2pi.yaml", "--set", "model.layers[0].units=10000000",
                "--out", run.toString()));
        String err = cli.err().strip();
        assertTrue(err.startsWith("error: the run will not fit in memory: it needs about "), err);
        assertTrue(err.contains("the 140000168 parameters with their gradients and adam state 3.7 GB"), err);
        assertTrue(err.contains("What would fit: a batch of at most "), err);
        assertFalse(err.contains("Exception"), err);
        assertFalse(Files.exists(run), "nothing is created");
    }

    @Test
    void aBillionSamplesAreRefusedBeforeTheyAreGenerated(@TempDir Path tmp) {
        CliRunner cli = new CliRunner();
        assertEquals(2, cli.run("train", "--config", "configs/sin2pi.yaml", "--set", "data.samples=1000000000",
                "--out", tmp.resolve("run").toString()));
        String err = cli.err().strip();
        assertTrue(err.startsWith("error: the data will not fit in the JVM's heap: 1000000000 samples of 2 inputs"), err);
        assertTrue(err.contains("samples (data.samples), or give the JVM more heap (HESSTRAIN_JAVA_OPTS=-Xmx...)"), err);
        assertFalse(err.contains("OutOfMemoryError"), err);
    }

    @Test
    void aSweepWhoseMembersCannotFitIsRefusedTheSameWay(@TempDir Path tmp) {
        Path out = tmp.resolve("sweep");
        CliRunner cli = new CliRunner();
        assertEquals(2, cli.run("sweep", "--config", "configs/sin2pi.yaml", "--set", "model.layers[0].units=10000000",
                "--grid", "penalty.lambda=0,0.001", "--out", out.toString()));
        String err = cli.err().strip();
        assertTrue(err.contains("error: the run will not fit in memory: it needs about "), err);
        assertFalse(err.contains("TooLarge") || err.contains("Exception") || err.contains("-x"), err);
        assertFalse(Files.exists(out), "nothing is created");
    }
}
