package dev.hesstrain.runs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue 10, defects 1 and 2: a run directory belongs to one run. */
class RunDirectoryTest {
    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aDirectoryThatHoldsFilesIsRefusedNamingItAndWhatItHolds(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("run");
        Files.createDirectories(dir.resolve("inspect"));
        Files.writeString(dir.resolve("summary.json"), "{}");
        RunDirectory.NotEmpty e = assertThrows(RunDirectory.NotEmpty.class,
                () -> RunDirectory.claim(dir, RunDirectory.Mode.NEW));
        assertEquals("the output directory " + dir + " is not empty (it holds inspect, summary.json): give "
                + "--overwrite to replace its contents", e.getMessage());
        assertEquals("{}", Files.readString(dir.resolve("summary.json")), "nothing was touched");
        // and the refused claim let go of the lock
        RunDirectory.claim(dir, RunDirectory.Mode.RESUME).close();
    }

    @Test
    void overwriteClearsEverythingButTheLock(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("run");
        Files.createDirectories(dir.resolve("inspect/params-loss"));
        Files.writeString(dir.resolve("inspect/params-loss/summary.json"), "{}");
        Files.writeString(dir.resolve("train.log"), "an old run\n");
        try (RunDirectory run = RunDirectory.claim(dir, RunDirectory.Mode.OVERWRITE)) {
            assertEquals(List.of(RunDirectory.LOCK), names(dir));
            assertEquals(RunDirectory.Mode.OVERWRITE, run.mode());
        }
    }

    @Test
    void aNewOrEmptyDirectoryIsClaimed(@TempDir Path tmp) throws IOException {
        try (RunDirectory run = RunDirectory.claim(tmp.resolve("a/b"), RunDirectory.Mode.NEW)) {
            assertTrue(Files.isDirectory(run.path()));
        }
        // a released directory that holds only its lock file is empty
        RunDirectory.claim(tmp.resolve("a/b"), RunDirectory.Mode.NEW).close();
    }

    @Test
    void aHeldDirectoryIsRefusedUntilReleased(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("run");
        try (RunDirectory first = RunDirectory.claim(dir, RunDirectory.Mode.NEW)) {
            for (RunDirectory.Mode mode : RunDirectory.Mode.values()) {
                RunDirectory.InUse e = assertThrows(RunDirectory.InUse.class, () -> RunDirectory.claim(dir, mode));
                assertEquals(dir + " is in use by another hesstrain process (pid " + ProcessHandle.current().pid()
                        + "); give another --out, or wait until it ends", e.getMessage());
            }
            assertTrue(Files.isDirectory(first.path()));
        }
        RunDirectory.claim(dir, RunDirectory.Mode.NEW).close();
    }

    @Test
    void newRunDirectoriesOfTheSameSecondAreDistinct(@TempDir Path tmp) throws IOException {
        try (RunDirectory a = RunDirectory.claim(tmp, "x", null, RunDirectory.Mode.NEW);
                RunDirectory b = RunDirectory.claim(tmp, "x", null, RunDirectory.Mode.NEW)) {
            assertNotEquals(a.path(), b.path());
            assertTrue(a.path().getFileName().toString().startsWith("x-"));
        }
    }

    @Test
    void aDanglingLinkAsTheRunDirectoryIsRefusedSayingWhy(@TempDir Path tmp) throws IOException {
        Path link = Files.createSymbolicLink(tmp.resolve("dangling"), tmp.resolve("gone"));
        IOException e = assertThrows(IOException.class, () -> RunDirectory.claim(link, RunDirectory.Mode.NEW));
        assertEquals("cannot create the run directory " + link + ": " + link + " is a symbolic link to " + tmp.resolve("gone")
                + ", which does not exist (create that directory, or remove the link)", e.getMessage());
        e = assertThrows(IOException.class, () -> RunDirectory.create(tmp, "x", link.resolve("sub")));
        assertTrue(e.getMessage().endsWith(link + " is a symbolic link to " + tmp.resolve("gone") + ", which does not exist"
                + " (create that directory, or remove the link)"), e.getMessage());
    }

    @Test
    void resumingNeedsAnExistingDirectory(@TempDir Path tmp) {
        IOException e = assertThrows(IOException.class,
                () -> RunDirectory.claim(tmp.resolve("nope"), RunDirectory.Mode.RESUME));
        assertEquals("no run directory at " + tmp.resolve("nope"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("nope")));
    }
}
