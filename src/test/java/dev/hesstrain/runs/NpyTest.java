package dev.hesstrain.runs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {

    @TempDir
    Path dir;

    private static byte[] golden(String name) throws IOException {
        try (InputStream in = NpyTest.class.getResourceAsStream("/golden/" + name)) {
            if (in == null) throw new IOException("missing golden resource " + name);
            return in.readAllBytes();
        }
    }

    private List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void headerMatchesNumpyFor2x3Float64() throws IOException {
        byte[] h = Npy.header(Npy.F8, new long[] {2, 3});
        assertEquals(128, h.length);
        assertEquals((byte) 0x93, h[0]);
        assertEquals("NUMPY", new String(h, 1, 5, StandardCharsets.US_ASCII));
        assertEquals(1, h[6]);
        assertEquals(0, h[7]);
        assertEquals(118, ByteBuffer.wrap(h, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort());
        String dict = new String(h, 10, 118, StandardCharsets.ISO_8859_1);
        assertTrue(dict.startsWith("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"), dict);
        assertTrue(dict.endsWith(" \n"));
        assertTrue(dict.substring(dict.indexOf('}') + 1, dict.length() - 1).isBlank(), "padding is spaces");

        Path f = dir.resolve("a.npy");
        Npy.write(f, new double[] {0, 1, 2, 3, 4, 5}, new long[] {2, 3});
        assertArrayEquals(golden("npy_2x3_f8.npy"), Files.readAllBytes(f));
    }

    @Test
    void oneDimensionalAndIntegerFilesMatchNumpy() throws IOException {
        byte[] h = Npy.header(Npy.F4, new long[] {5});
        assertTrue(new String(h, StandardCharsets.ISO_8859_1).contains("'shape': (5,), }"));
        assertEquals(0, h.length % 64);

        Path f4 = dir.resolve("v.npy");
        NpyFixtures.writeFloat(f4, new float[] {0, 1, 2, 3, 4}, new long[] {5});
        assertArrayEquals(golden("npy_5_f4.npy"), Files.readAllBytes(f4));

        Path i8 = dir.resolve("i.npy");
        NpyFixtures.writeInt(i8, new long[] {1, -2, 3, 4}, new long[] {2, 2});
        assertArrayEquals(golden("npy_2x2_i8.npy"), Files.readAllBytes(i8));
    }

    @Test
    void readsNumpyGoldenFiles() throws IOException {
        Path f = dir.resolve("g.npy");
        Files.write(f, golden("npy_2x3_f8.npy"));
        Npy.Array a = Npy.read(f);
        assertEquals("<f8", a.descr());
        assertArrayEquals(new long[] {2, 3}, a.shape());
        assertArrayEquals(new double[] {0, 1, 2, 3, 4, 5}, a.values());
        assertArrayEquals(new double[] {3, 4, 5}, NpyFixtures.matrix(a)[1]);

        Files.write(f, golden("npy_5_f4.npy"));
        a = Npy.read(f);
        assertEquals("<f4", a.descr());
        assertArrayEquals(new long[] {5}, a.shape());
        assertArrayEquals(new double[] {0, 1, 2, 3, 4}, a.values());
    }

    @Test
    void roundTripsEveryDtype() throws IOException {
        double[] d = {1.5, -2.25, Double.MAX_VALUE, Double.MIN_VALUE, Double.NaN, Double.NEGATIVE_INFINITY};
        Path fd = dir.resolve("d.npy");
        Npy.write(fd, d, new long[] {3, 2});
        Npy.Array a = Npy.read(fd);
        assertEquals("<f8", a.descr());
        assertArrayEquals(new long[] {3, 2}, a.shape());
        assertArrayEquals(d, a.values());

        float[] f = {0.1f, -3f, Float.MAX_VALUE};
        Path ff = dir.resolve("f.npy");
        NpyFixtures.writeFloat(ff, f, new long[] {1, 3});
        a = Npy.read(ff);
        assertEquals("<f4", a.descr());
        for (int i = 0; i < f.length; i++) assertEquals(f[i], (float) a.values()[i]);

        long[] l = {Long.MIN_VALUE >> 12, 7, -1};
        Path fl = dir.resolve("l.npy");
        NpyFixtures.writeInt(fl, l, new long[] {3});
        a = Npy.read(fl);
        assertEquals("<i8", a.descr());
        for (int i = 0; i < l.length; i++) assertEquals((double) l[i], a.values()[i]);

        // <i4 is read-only here: build a file by hand
        byte[] header = Npy.header(Npy.I4, new long[] {2, 2});
        ByteBuffer b = ByteBuffer.allocate(header.length + 16).order(ByteOrder.LITTLE_ENDIAN);
        b.put(header).putInt(1).putInt(-2).putInt(Integer.MAX_VALUE).putInt(Integer.MIN_VALUE);
        Path fi = dir.resolve("i4.npy");
        Files.write(fi, b.array());
        a = Npy.read(fi);
        assertEquals("<i4", a.descr());
        assertArrayEquals(new double[] {1, -2, Integer.MAX_VALUE, Integer.MIN_VALUE}, a.values());

        // scalar and empty arrays
        Path fs = dir.resolve("s.npy");
        Npy.write(fs, new double[] {7}, new long[] {});
        assertTrue(new String(Files.readAllBytes(fs), StandardCharsets.ISO_8859_1).contains("'shape': (), }"));
        assertArrayEquals(new double[] {7}, Npy.read(fs).values());
        Path fe = dir.resolve("e.npy");
        Npy.write(fe, new double[0], new long[] {0, 4});
        assertArrayEquals(new long[] {0, 4}, Npy.read(fe).shape());
    }

    @Test
    void streamingWriterMatchesOneShotWriter() throws IOException {
        int rows = 300;
        int cols = 1001; // > one 1 MiB buffer of doubles in total
        double[] all = new double[rows * cols];
        for (int i = 0; i < all.length; i++) all[i] = Math.sin(i) * i;
        Path oneShot = dir.resolve("one.npy");
        Npy.write(oneShot, all, new long[] {rows, cols});

        Path streamed = dir.resolve("stream.npy");
        try (Npy.Writer w = Npy.open(streamed, Npy.F8, new long[] {rows, cols})) {
            for (int r = 0; r < rows; r++) w.write(all, r * cols, cols);
        }
        assertArrayEquals(Files.readAllBytes(oneShot), Files.readAllBytes(streamed));

        float[] fl = new float[all.length];
        for (int i = 0; i < fl.length; i++) fl[i] = (float) all[i];
        Path oneShotF = dir.resolve("onef.npy");
        NpyFixtures.writeFloat(oneShotF, fl, new long[] {rows, cols});
        Path streamedF = dir.resolve("streamf.npy");
        try (Npy.Writer w = Npy.open(streamedF, Npy.F4, new long[] {rows, cols})) {
            w.write(all, 0, 5);          // doubles are narrowed to float32
            w.write(fl, 5, fl.length - 5);
        }
        assertArrayEquals(Files.readAllBytes(oneShotF), Files.readAllBytes(streamedF));
        assertEquals(List.of("one.npy", "onef.npy", "stream.npy", "streamf.npy"), names());
    }

    @Test
    void shortOrLongStreamingWriteFailsAndLeavesNoFile() throws IOException {
        Path f = dir.resolve("short.npy");
        Npy.Writer w = Npy.open(f, Npy.F8, new long[] {2, 3});
        w.write(new double[] {1, 2, 3, 4, 5});
        IllegalStateException e = assertThrows(IllegalStateException.class, w::close);
        assertTrue(e.getMessage().contains("wrote 5"), e.getMessage());
        assertFalse(Files.exists(f));

        Path g = dir.resolve("long.npy");
        try (Npy.Writer w2 = Npy.open(g, Npy.F4, new long[] {2})) {
            assertThrows(IllegalStateException.class, () -> w2.write(new float[] {1, 2, 3}));
        }
        assertFalse(Files.exists(g));

        Path h = dir.resolve("aborted.npy");
        Files.writeString(h, "previous");
        Npy.Writer w3 = Npy.open(h, Npy.F8, new long[] {1});
        w3.write(new double[] {1});
        w3.abort();
        w3.close(); // no-op after abort
        assertEquals("previous", Files.readString(h));
        assertEquals(List.of("aborted.npy"), names());
    }

    @Test
    void oneShotWriterChecksShape() {
        assertThrows(IllegalArgumentException.class, () -> Npy.write(dir.resolve("x.npy"), new double[5], new long[] {2, 3}));
    }

    @Test
    void rejectsFortranOrderBigEndianAndUnknownDtypes() throws IOException {
        Path fortran = dir.resolve("fortran.npy");
        Files.write(fortran, handMade("{'descr': '<f8', 'fortran_order': True, 'shape': (1, 1), }", 8));
        IOException e = assertThrows(IOException.class, () -> Npy.read(fortran));
        assertTrue(e.getMessage().contains("fortran.npy") && e.getMessage().contains("fortran_order"), e.getMessage());

        Path big = dir.resolve("big.npy");
        Files.write(big, handMade("{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", 8));
        e = assertThrows(IOException.class, () -> Npy.read(big));
        assertTrue(e.getMessage().contains("big.npy") && e.getMessage().contains("big-endian"), e.getMessage());

        Path u1 = dir.resolve("u1.npy");
        Files.write(u1, handMade("{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }", 1));
        e = assertThrows(IOException.class, () -> Npy.read(u1));
        assertTrue(e.getMessage().contains("u1.npy") && e.getMessage().contains("|u1"), e.getMessage());

        Path junk = dir.resolve("junk.npy");
        Files.writeString(junk, "not numpy at all");
        e = assertThrows(IOException.class, () -> Npy.read(junk));
        assertTrue(e.getMessage().contains("junk.npy"), e.getMessage());

        Path truncated = dir.resolve("trunc.npy");
        Files.write(truncated, handMade("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", 8));
        e = assertThrows(IOException.class, () -> Npy.read(truncated));
        assertTrue(e.getMessage().contains("trunc.npy"), e.getMessage());
    }

    @Test
    void hugeHeaderUsesVersion2() {
        long[] shape = new long[30000]; // a header longer than 65535 bytes
        java.util.Arrays.fill(shape, 1);
        byte[] h = Npy.header(Npy.F8, shape);
        assertEquals(2, h[6]);
        assertEquals(0, h.length % 64);
        long len = ByteBuffer.wrap(h, 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        assertEquals(h.length - 12, len);
        assertEquals('\n', h[h.length - 1]);
    }

    /** A version 1.0 file with the given header dict and {@code dataBytes} zero bytes of data. */
    private static byte[] handMade(String dict, int dataBytes) {
        int total = 10 + dict.length() + 1;
        int pad = (64 - total % 64) % 64;
        ByteBuffer b = ByteBuffer.allocate(total + pad + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        b.putShort((short) (dict.length() + 1 + pad));
        b.put(dict.getBytes(StandardCharsets.ISO_8859_1));
        for (int i = 0; i < pad; i++) b.put((byte) ' ');
        b.put((byte) '\n');
        return b.array();
    }
}
