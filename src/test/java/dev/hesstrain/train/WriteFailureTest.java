package dev.hesstrain.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hesstrain.runs.EventFile;
import dev.hesstrain.runs.RunDirectory;
import dev.hesstrain.spec.Spec;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run whose last TensorBoard records cannot be written (the disk filled up while it stopped)
 * fails with the one message that names the directory and the checkpoint kept. CI once saw the
 * raw {@code UncheckedIOException} of the event file's close instead: it was thrown from a
 * {@code finally} and hid the message.
 */
class WriteFailureTest {
    @Test
    void anEventFileThatCannotTakeItsLastRecordsNamesTheKeptCheckpoint(@TempDir Path tmp) throws IOException {
        Spec spec = ResumeTest.spec("train.checkpoint_every=1");
        Path dir = tmp.resolve("run");
        Supplier<String> stop = new Supplier<>() {
            long polls;

            @Override
            public String get() {
                if (++polls < 10) {
                    return null;
                } else if (polls > 10) {
                    return "SIGTERM";
                }
                // the event file becomes a directory: appending to it fails as a full disk does
                try (Stream<Path> files = Files.list(dir)) {
                    Path events = files.filter(f -> f.getFileName().toString().startsWith(EventFile.PREFIX))
                            .findFirst().orElseThrow();
                    Files.delete(events);
                    Files.createDirectory(events);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                return "SIGTERM";
            }
        };
        TrainJob.WriteFailed e = assertThrows(TrainJob.WriteFailed.class,
                () -> ResumeTest.train(spec, dir, RunDirectory.Mode.NEW, stop));
        assertTrue(e.kept() >= 1, "kept: " + e.kept());
        assertEquals("could not write the run's files into " + dir + ": " + TrainJob.WriteFailed.reason(e.getCause())
                + "; the checkpoint of epoch " + e.kept() + " is kept there (continue with train --resume " + dir
                + " once there is room)", e.getMessage());
        assertTrue(e.getMessage().contains("Is a directory"), e.getMessage());
    }
}
