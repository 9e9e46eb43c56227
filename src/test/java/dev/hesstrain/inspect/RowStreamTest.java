package dev.hesstrain.inspect;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hesstrain.runs.Npy;
import dev.hesstrain.runs.NpyFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RowStreamTest {

    @Test
    void writesTheSameBytesAsNpyAndShowsEveryRowInOrder(@TempDir Path dir) throws IOException {
        int rows = 7;
        int cols = 5;
        float[] all = new float[rows * cols];
        for (int i = 0; i < all.length; i++) {
            all[i] = (float) Math.sin(i) * i;
        }
        List<Integer> seen = new ArrayList<>();
        double[] sum = {0};
        Path file = dir.resolve("h.npy");
        try (RowStream out = new RowStream(file, rows, cols, 3, 2, (first, count, values) -> {
            for (int c = 0; c < count; c++) {
                seen.add(first + c);
                for (int j = 0; j < cols; j++) {
                    sum[0] += values.get(c * cols + j);
                }
            }
        })) {
            for (int start = 0; start < rows; start += 3) {
                int count = Math.min(3, rows - start);
                RowStream.Buffer b = out.take();
                b.floats().put(0, all, start * cols, count * cols);
                out.submit(b, start, count);
            }
        }
        Path reference = dir.resolve("reference.npy");
        NpyFixtures.writeFloat(reference, all, new long[] {rows, cols});
        assertArrayEquals(Files.readAllBytes(reference), Files.readAllBytes(file));
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6), seen);
        double expected = 0;
        for (float v : all) {
            expected += v;
        }
        assertEquals(expected, sum[0], 1e-9);
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "no temporary file is left behind");
        }
    }

    @Test
    void rowsWrittenStraightFromTheirMemoryInAnyOrderGiveNpysBytes(@TempDir Path dir) throws IOException {
        int rows = 5;
        int cols = 3;
        double[] all = new double[rows * cols];
        for (int i = 0; i < all.length; i++) {
            all[i] = Math.cos(i) * i;
        }
        Path file = dir.resolve("h.npy");
        try (RowStream out = new RowStream(file, Npy.F8, rows, cols, 2, 2, (first, count, values) -> { }, false)) {
            assertTrue(out.writesInCaller());
            for (int start : new int[] {3, 0, 2}) { // rows 3-4, 0-1, 2
                int count = start == 2 ? 1 : 2;
                java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocateDirect(count * cols * 8)
                        .order(java.nio.ByteOrder.LITTLE_ENDIAN);
                bytes.asDoubleBuffer().put(all, start * cols, count * cols);
                out.write(bytes, start, count);
            }
            java.nio.ByteBuffer again = java.nio.ByteBuffer.allocate(cols * 8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            assertThrows(IllegalStateException.class, () -> out.write(again, 4, 1), "row 4 was written already");
        }
        Path reference = dir.resolve("reference.npy");
        Npy.write(reference, all, new long[] {rows, cols});
        assertArrayEquals(Files.readAllBytes(reference), Files.readAllBytes(file));
        try (RowStream threaded = new RowStream(dir.resolve("t.npy"), 1, 1, 1, 2, (first, count, values) -> { })) {
            assertFalse(threaded.writesInCaller());
            assertThrows(IllegalStateException.class, () -> threaded.write(
                    java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN), 0, 1));
            RowStream.Buffer b = threaded.take();
            b.floats().put(0, 1f);
            threaded.submit(b, 0, 1);
        }
    }

    @Test
    void headersMatchNpyForManyShapes(@TempDir Path dir) throws IOException {
        for (long[] shape : new long[][] {{1, 1}, {23365, 23365}, {2000, 23365}, {3}, {4, 1, 5, 5}, {123456789, 2}}) {
            Path ref = dir.resolve("ref.npy");
            long count = 1;
            for (long d : shape) {
                count *= d;
            }
            if (count > 1000) {
                continue;
            }
            NpyFixtures.writeFloat(ref, new float[(int) count], shape);
            byte[] bytes = Files.readAllBytes(ref);
            byte[] header = Npy.header("<f4", shape);
            assertArrayEquals(java.util.Arrays.copyOf(bytes, header.length), header);
            assertEquals(0, header.length % 64);
        }
        // large shapes: the header parses back
        Path big = dir.resolve("big.npy");
        Files.write(big, concat(Npy.header("<f4", new long[] {2, 23365}), new byte[2 * 23365 * 4]));
        assertArrayEquals(new long[] {2, 23365}, Npy.read(big).shape());
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void aFailingSinkAbortsAndLeavesNoFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("h.npy");
        RowStream out = new RowStream(file, 4, 2, 1, 2, (first, count, values) -> {
            if (first == 1) {
                throw new IllegalStateException("sink failed");
            }
        });
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> {
            for (int r = 0; r < 4; r++) {
                RowStream.Buffer b = out.take();
                out.submit(b, r, 1);
            }
            out.close();
        });
        assertEquals("sink failed", e.getMessage());
        out.abort();
        assertFalse(Files.exists(file));
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count());
        }
    }

    @Test
    void batchesMayComeInAnyOrderButOnlyOnce(@TempDir Path dir) throws IOException {
        int cols = 3;
        Path file = dir.resolve("h.npy");
        List<Integer> firsts = new ArrayList<>();
        try (RowStream out = new RowStream(file, 5, cols, 2, 3, (first, count, values) -> firsts.add(first))) {
            for (int[] b : new int[][] {{2, 2}, {0, 2}, {4, 1}}) {
                RowStream.Buffer buf = out.take();
                for (int c = 0; c < b[1] * cols; c++) {
                    buf.floats().put(c, b[0] * cols + c);
                }
                out.submit(buf, b[0], b[1]);
            }
            assertThrows(IllegalStateException.class, () -> out.submit(out.take(), 1, 1), "row 1 twice");
        }
        double[] v = Npy.read(file).values();
        for (int i = 0; i < v.length; i++) {
            assertEquals(i, v[i], 0);
        }
        assertEquals(List.of(2, 0, 4), firsts);
    }

    @Test
    void severalThreadsMayWriteTheirOwnRows(@TempDir Path dir) throws Exception {
        int rows = 40;
        int cols = 6;
        Path file = dir.resolve("h.npy");
        try (RowStream out = new RowStream(file, rows, cols, 2, 5, (first, count, values) -> { }, false)) {
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(3);
            java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
            List<java.util.concurrent.Future<Void>> fs = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                fs.add(pool.submit(() -> {
                    for (int start; (start = next.getAndAdd(2)) < rows; ) {
                        RowStream.Buffer b = out.take();
                        for (int i = 0; i < 2 * cols; i++) {
                            b.floats().put(i, start * cols + i);
                        }
                        out.submit(b, start, 2);
                    }
                    return null;
                }));
            }
            for (var f : fs) {
                f.get();
            }
            pool.shutdown();
        }
        double[] v = Npy.read(file).values();
        for (int i = 0; i < v.length; i++) {
            assertEquals(i, v[i], 0);
        }
    }

    @Test
    void tooFewRowsIsAnError(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("h.npy");
        RowStream out = new RowStream(file, 3, 2, 1, 2, (first, count, values) -> { });
        out.submit(out.take(), 0, 1);
        assertThrows(IllegalStateException.class, out::close);
        assertFalse(Files.exists(file));
    }
}
