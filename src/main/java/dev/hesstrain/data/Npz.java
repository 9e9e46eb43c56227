package dev.hesstrain.data;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Reads NumPy .npz archives (as numpy.savez writes them) into float64 arrays by name. DJL decodes
 * the archive; the byte order it ignores is taken from each entry's header: big-endian arrays
 * ({@code >f8}, as numpy writes them on request or on big-endian machines) are read in that order.
 */
public final class Npz {
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([<>|=])([a-zA-Z])(\\d+)'");

    private Npz() {}

    /** One array of an archive: its shape and its values in row-major order, as float64. */
    public record Array(long[] shape, double[] values) {
        /** The length of the first axis (0 for a 0-d array). */
        public long rows() {
            return shape.length == 0 ? 0 : shape[0];
        }

        public long size() {
            return values.length;
        }

        public String shapeString() {
            return new ai.djl.ndarray.types.Shape(shape).toString();
        }
    }

    /**
     * The arrays of {@code file} in archive order, named without the ".npy" suffix of their
     * entries. An {@link IOException} means the file could not be read; an archive that cannot
     * be decoded throws the engine's {@link RuntimeException}.
     */
    public static Map<String, Array> read(Path file) throws IOException {
        Map<String, String> bigEndian = bigEndianEntries(file);
        try (NDManager m = NDManager.newBaseManager(Device.cpu());
                InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            NDList list = NDList.decode(m, in);
            Map<String, Array> out = new LinkedHashMap<>();
            for (NDArray a : list) {
                String name = a.getName() == null ? "" : a.getName().replaceAll("\\.npy$", "");
                String descr = bigEndian.get(name);
                double[] values = descr == null
                        ? a.toType(DataType.FLOAT64, false).toDoubleArray()
                        : bigEndianValues(file, name, descr, a);
                out.put(name, new Array(a.getShape().getShape(), values));
            }
            return Collections.unmodifiableMap(out);
        }
    }

    /** The entries whose header says big-endian, by array name, with their dtype ({@code >f8}). */
    private static Map<String, String> bigEndianEntries(Path file) throws IOException {
        Map<String, String> found = new HashMap<>();
        try (ZipInputStream zip = new ZipInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
            ZipEntry e;
            while ((e = zip.getNextEntry()) != null) {
                // magic (6), version (2), header length (2 or 4), then the header dict
                byte[] head = zip.readNBytes(512);
                String text = new String(head, StandardCharsets.ISO_8859_1);
                Matcher d = DESCR.matcher(text);
                if (text.startsWith("\u0093NUMPY") && d.find() && d.group(1).equals(">")) {
                    found.put(e.getName().replaceAll("\\.npy$", ""), d.group(1) + d.group(2) + d.group(3));
                }
            }
        } catch (IOException e) {
            return Map.of(); // not a zip: the decoder below says what is wrong
        }
        return found;
    }

    /** The bytes DJL read unswapped, interpreted in big-endian order. */
    private static double[] bigEndianValues(Path file, String name, String descr, NDArray a) {
        ByteBuffer b = ByteBuffer.wrap(a.toByteArray()).order(ByteOrder.BIG_ENDIAN);
        double[] v = new double[Math.toIntExact(a.size())];
        String kind = descr.substring(1);
        for (int i = 0; i < v.length; i++) {
            v[i] = switch (kind) {
                case "f8" -> b.getDouble();
                case "f4" -> b.getFloat();
                case "i8" -> b.getLong();
                case "i4" -> b.getInt();
                case "i2" -> b.getShort();
                case "u2" -> b.getShort() & 0xffff;
                case "u4" -> b.getInt() & 0xffffffffL;
                default -> throw new IllegalArgumentException(
                        "array '" + name + "' has big-endian dtype " + descr + ", which is not supported"
                                + " (use >f8, >f4, >i8, >i4, >i2, >u2 or >u4, or save it little-endian)");
            };
        }
        return v;
    }
}
