package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hesstrain.runs.RunDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * issue 10, 2: inspect-hessian into a non-empty directory overwrote its summary.json silently.
 * Its --out is now claimed as a run directory is: refused when it holds files unless --overwrite,
 * and locked while the inspection runs.
 */
class InspectOutTest {
    static String[] inspect(Path out, String... more) {
        String[] base = {"inspect-hessian", "--config", "configs/sin2pi.yaml", "--wrt", "input", "--samples", "3",
            "--quantity", "trace", "--out", out.toString()};
        String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    @Test
    void aNonEmptyOutIsRefusedUnlessOverwrite(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("out");
        CliRunner first = new CliRunner();
        assertEquals(0, first.run(inspect(out)), first.err());
        String summary = Files.readString(out.resolve("summary.json"));
        Files.writeString(out.resolve("notes.txt"), "mine");

        CliRunner again = new CliRunner();
        assertEquals(2, again.run(inspect(out)));
        assertTrue(again.err().strip().startsWith("error: --out: the output directory " + out + " is not empty (it holds "
                + "notes.txt, summary.json"), again.err());
        assertTrue(again.err().strip().endsWith("give --overwrite to replace its contents, or choose another --out"),
                again.err());
        assertEquals(summary, Files.readString(out.resolve("summary.json")), "untouched");

        CliRunner over = new CliRunner();
        assertEquals(0, over.run(inspect(out, "--overwrite")), over.err());
        assertFalse(Files.exists(out.resolve("notes.txt")), "--overwrite clears the directory first");
        assertTrue(Files.exists(out.resolve("summary.json")));
    }

    @Test
    void anOutHeldByAnotherRunIsRefusedAtOnce(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("out");
        // a claim of this JVM holds the lock as another process's would (RunDirectoryIT races two real processes)
        try (RunDirectory held = RunDirectory.claim(out, RunDirectory.Mode.NEW)) {
            CliRunner cli = new CliRunner();
            assertEquals(2, cli.run(inspect(out)));
            assertTrue(cli.err().strip().startsWith("error: --out: " + out + " is in use by another hesstrain process"),
                    cli.err());
            assertFalse(Files.exists(out.resolve("summary.json")));
        }
    }
}
