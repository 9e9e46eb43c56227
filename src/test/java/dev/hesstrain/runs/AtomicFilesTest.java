package dev.hesstrain.runs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {

    @TempDir
    Path dir;

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void roundTripsBytesAndStrings() throws IOException {
        byte[] bytes = {0, 1, 2, (byte) 0xff};
        AtomicFiles.write(dir.resolve("a.bin"), bytes);
        assertArrayEquals(bytes, Files.readAllBytes(dir.resolve("a.bin")));

        AtomicFiles.writeString(dir.resolve("b.txt"), "héllo\n");
        assertEquals("héllo\n", Files.readString(dir.resolve("b.txt"), StandardCharsets.UTF_8));
        assertEquals(List.of("a.bin", "b.txt"), names());
    }

    @Test
    void replacesExistingFileAndLeavesNoTempFiles() throws IOException {
        Path f = dir.resolve("f.txt");
        Files.writeString(f, "old content that is longer");
        AtomicFiles.writeString(f, "new");
        assertEquals("new", Files.readString(f));
        AtomicFiles.write(f, out -> {
            out.write("streamed".getBytes(StandardCharsets.UTF_8));
            out.close(); // closing inside the writer must be harmless
        });
        assertEquals("streamed", Files.readString(f));
        assertEquals(List.of("f.txt"), names());
    }

    @Test
    void createsMissingParentDirectories() throws IOException {
        Path f = dir.resolve("x/y/z.txt");
        AtomicFiles.writeString(f, "deep");
        assertEquals("deep", Files.readString(f));
    }

    @Test
    void failingWriterKeepsOldContentAndCleansUp() throws IOException {
        Path f = dir.resolve("keep.txt");
        Files.writeString(f, "original");
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(f, out -> {
            out.write(new byte[100_000]);
            throw new IOException("boom");
        }));
        assertEquals("boom", e.getMessage());
        assertThrows(IllegalStateException.class, () -> AtomicFiles.write(f, out -> {
            throw new IllegalStateException("unchecked");
        }));
        assertEquals("original", Files.readString(f));
        assertEquals(List.of("keep.txt"), names());
    }

    @Test
    void tempSiblingIsHiddenInSameDirectory() throws IOException {
        Path t = AtomicFiles.tempSibling(dir.resolve("m.npy"));
        assertEquals(dir.toAbsolutePath(), t.getParent());
        String name = t.getFileName().toString();
        assertEquals(true, name.startsWith(".m.npy.tmp-"), name);
    }
}
