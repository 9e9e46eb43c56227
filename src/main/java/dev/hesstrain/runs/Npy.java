package dev.hesstrain.runs;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reader and writers for the NumPy {@code .npy} format (C order, little-endian). Files are written
 * byte-for-byte like {@code numpy.save}: version 1.0 (version 2.0 only when the header does not fit a
 * uint16 length), header dict padded with spaces and a final newline to a multiple of 64 bytes.
 * All writes are atomic (see {@link AtomicFiles}).
 */
public final class Npy {

    /** dtype descriptors understood here. */
    public static final String F4 = "<f4";
    public static final String F8 = "<f8";
    public static final String I4 = "<i4";
    public static final String I8 = "<i8";

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final int ALIGN = 64;
    /** numpy leaves room for the first axis to grow to this many digits (numpy.lib.format). */
    private static final int GROWTH_AXIS_MAX_DIGITS = 21;
    private static final int CHUNK_BYTES = 1 << 20;

    private Npy() {}

    /**
     * The content of a {@code .npy} file; {@code values} are in row-major order, converted to double.
     * (Record equality compares the arrays by identity.)
     */
    public record Array(String descr, long[] shape, double[] values) {

        /** Number of elements (product of the shape). */
        public long size() {
            return product(shape);
        }

        @Override
        public String toString() {
            return "Npy.Array[descr=" + descr + ", shape=" + shapeString(shape) + "]";
        }
    }

    // ----------------------------------------------------------------------------------------------- one-shot

    /** Writes {@code data} as float64 ({@code <f8}) with the given shape. */
    public static void write(Path target, double[] data, long[] shape) throws IOException {
        checkCount(data.length, shape);
        byte[] header = header(F8, shape);
        AtomicFiles.write(target, out -> {
            out.write(header);
            ByteBuffer buf = chunk();
            for (double v : data) {
                if (buf.remaining() < Double.BYTES) drain(buf, out);
                buf.putDouble(v);
            }
            drain(buf, out);
        });
    }

    // ----------------------------------------------------------------------------------------------- streaming

    /**
     * Opens a streaming writer for an array too large to hold in memory. Values are appended in row-major
     * order; {@link Writer#close()} checks that exactly {@code product(shape)} values were written and then
     * moves the file into place atomically.
     *
     * @param descr {@code "<f4"} or {@code "<f8"}
     */
    public static Writer open(Path target, String descr, long[] shape) throws IOException {
        if (!F4.equals(descr) && !F8.equals(descr)) {
            throw new IllegalArgumentException("streaming writer supports <f4 and <f8, not " + descr);
        }
        return new Writer(target, descr, shape);
    }

    /** Streaming {@code .npy} writer; see {@link #open}. Not thread-safe. */
    public static final class Writer implements AutoCloseable {
        private final Path target;
        private final Path tmp;
        private final long[] shape;
        private final boolean f32;
        private final long expected;
        private final FileChannel channel;
        private final ByteBuffer buf = chunk();
        private long written;
        private boolean done;

        private Writer(Path target, String descr, long[] shape) throws IOException {
            this.target = target;
            this.shape = shape.clone();
            this.f32 = F4.equals(descr);
            this.expected = product(shape);
            byte[] header = header(descr, shape);
            this.tmp = AtomicFiles.tempSibling(target);
            this.channel = AtomicFiles.create(tmp);
            try {
                writeFully(ByteBuffer.wrap(header));
            } catch (IOException | RuntimeException e) {
                abort();
                throw e;
            }
        }

        /** Appends {@code len} values starting at {@code values[off]}. */
        public void write(float[] values, int off, int len) throws IOException {
            begin(off, len, values.length);
            try {
                for (int i = off; i < off + len; i++) {
                    if (f32) putF4(values[i]); else putF8(values[i]);
                }
            } catch (IOException | RuntimeException e) {
                abort();
                throw e;
            }
            written += len;
        }

        /** Appends {@code len} values starting at {@code values[off]} (narrowed when the file is {@code <f4}). */
        public void write(double[] values, int off, int len) throws IOException {
            begin(off, len, values.length);
            try {
                for (int i = off; i < off + len; i++) {
                    if (f32) putF4((float) values[i]); else putF8(values[i]);
                }
            } catch (IOException | RuntimeException e) {
                abort();
                throw e;
            }
            written += len;
        }

        /** Appends all of {@code values}. */
        public void write(float[] values) throws IOException {
            write(values, 0, values.length);
        }

        /** Appends all of {@code values}. */
        public void write(double[] values) throws IOException {
            write(values, 0, values.length);
        }

        /** Number of values written so far. */
        public long written() {
            return written;
        }

        /**
         * Finishes the file: if exactly {@code product(shape)} values were written it is synced and moved
         * into place; otherwise the temporary file is deleted and {@link IllegalStateException} is thrown.
         * Does nothing after {@link #abort()} or a previous close.
         */
        @Override
        public void close() throws IOException {
            if (done) {
                return;
            }
            if (written != expected) {
                abort();
                throw new IllegalStateException("npy writer for " + target + ": wrote " + written
                        + " values but shape " + shapeString(shape) + " needs " + expected);
            }
            try {
                buf.flip();
                writeFully(buf);
                channel.force(true);
                channel.close();
                AtomicFiles.commit(tmp, target);
                done = true;
            } catch (IOException | RuntimeException e) {
                abort();
                throw e;
            }
        }

        /** Discards everything written; the target is left as it was. Safe to call more than once. */
        public void abort() {
            done = true;
            try {
                channel.close();
            } catch (IOException e) {
                // ignore, we are discarding the file anyway
            }
            AtomicFiles.deleteQuietly(tmp);
        }

        private void begin(int off, int len, int arrayLength) {
            if (done) {
                throw new IllegalStateException("npy writer for " + target + " is closed");
            }
            Objects.checkFromIndexSize(off, len, arrayLength);
            if (written + len > expected) {
                abort();
                throw new IllegalStateException("npy writer for " + target + ": writing " + len + " more values after "
                        + written + " exceeds shape " + shapeString(shape) + " (" + expected + " values)");
            }
        }

        private void putF4(float v) throws IOException {
            if (buf.remaining() < Float.BYTES) flushBuffer();
            buf.putFloat(v);
        }

        private void putF8(double v) throws IOException {
            if (buf.remaining() < Double.BYTES) flushBuffer();
            buf.putDouble(v);
        }

        private void flushBuffer() throws IOException {
            buf.flip();
            writeFully(buf);
            buf.clear();
        }

        private void writeFully(ByteBuffer b) throws IOException {
            while (b.hasRemaining()) {
                channel.write(b);
            }
        }
    }

    // ----------------------------------------------------------------------------------------------- reading

    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    /**
     * Reads a {@code .npy} file of dtype {@code <f4}, {@code <f8}, {@code <i4} or {@code <i8} in C order.
     * Fortran-ordered, big-endian and other dtypes are rejected with an {@link IOException} naming the file.
     */
    public static Array read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header h = readHeader(ch, file);
            String descr = h.descr();
            if (h.fortranOrder()) {
                throw new IOException(file + ": fortran_order=True arrays are not supported (save in C order)");
            }
            if (descr.startsWith(">")) {
                throw new IOException(file + ": big-endian dtype " + descr + " is not supported");
            }
            int itemSize = switch (descr) {
                case F4, I4 -> 4;
                case F8, I8 -> 8;
                default -> throw new IOException(file + ": unsupported dtype " + descr
                        + " (expected <f4, <f8, <i4 or <i8)");
            };
            long[] shape = h.shape();
            long count = product(shape);
            if (count > Integer.MAX_VALUE - 8) {
                throw new IOException(file + ": array of shape " + shapeString(shape) + " is too large to read");
            }
            long dataBytes = count * itemSize;
            long available = ch.size() - ch.position();
            if (available < dataBytes) {
                throw new IOException(file + ": truncated, shape " + shapeString(shape) + " needs " + dataBytes
                        + " data bytes but only " + available + " are present");
            }
            double[] values = new double[(int) count];
            ByteBuffer buf = ByteBuffer.allocate(CHUNK_BYTES - CHUNK_BYTES % 8).order(ByteOrder.LITTLE_ENDIAN);
            int i = 0;
            while (i < values.length) {
                buf.clear();
                buf.limit((int) Math.min(buf.capacity(), (long) (values.length - i) * itemSize));
                readFully(ch, buf, file);
                buf.flip();
                switch (descr) {
                    case F4 -> { while (buf.hasRemaining()) values[i++] = buf.getFloat(); }
                    case F8 -> { while (buf.hasRemaining()) values[i++] = buf.getDouble(); }
                    case I4 -> { while (buf.hasRemaining()) values[i++] = buf.getInt(); }
                    default -> { while (buf.hasRemaining()) values[i++] = buf.getLong(); }
                }
            }
            return new Array(descr, shape, values);
        }
    }

    /** A parsed .npy header: dtype, order, shape, and the byte offset where the data begin. */
    public record Header(String descr, boolean fortranOrder, long[] shape, long dataOffset) {}

    /**
     * Reads the header of a .npy file from the start of {@code ch} (the one header codec: {@link #read},
     * and every reader of a streamed file, use it); leaves the channel positioned at the data.
     */
    public static Header readHeader(FileChannel ch, Path file) throws IOException {
        ch.position(0);
        ByteBuffer pre = ByteBuffer.allocate(MAGIC.length + 2).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, pre, file);
        pre.flip();
        byte[] magic = new byte[MAGIC.length];
        pre.get(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new IOException(file + ": not a .npy file (bad magic)");
        }
        int major = pre.get() & 0xff;
        int headerLen;
        if (major == 1) {
            ByteBuffer len = ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, file);
            headerLen = len.flip().getShort() & 0xffff;
        } else if (major == 2 || major == 3) {
            ByteBuffer len = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, file);
            long l = len.flip().getInt() & 0xffffffffL;
            if (l > Integer.MAX_VALUE) throw new IOException(file + ": .npy header too large");
            headerLen = (int) l;
        } else {
            throw new IOException(file + ": unsupported .npy format version " + major);
        }
        ByteBuffer hb = ByteBuffer.allocate(headerLen);
        readFully(ch, hb, file);
        String header = new String(hb.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        String descr = find(DESCR, header, "descr", file);
        boolean fortran = "True".equals(find(FORTRAN, header, "fortran_order", file));
        long[] shape = parseShape(find(SHAPE, header, "shape", file), file);
        return new Header(descr, fortran, shape, ch.position());
    }

    // ----------------------------------------------------------------------------------------------- helpers

    /**
     * The complete header (magic, version, length, padded dict) exactly as {@code numpy.save} writes it for
     * a C-ordered array.
     */
    public static byte[] header(String descr, long[] shape) {
        for (long d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + shapeString(shape));
        }
        StringBuilder dict = new StringBuilder()
                .append("{'descr': '").append(descr).append("', 'fortran_order': False, 'shape': ")
                .append(shapeString(shape)).append(", }");
        if (shape.length > 0) {
            dict.append(" ".repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - Long.toString(shape[0]).length())));
        }
        byte[] v1 = wrap(dict.toString(), 1);
        return v1 != null ? v1 : wrap(dict.toString(), 2);
    }

    /** Pads and prefixes the header dict; returns null if it does not fit the length field of {@code version}. */
    private static byte[] wrap(String dict, int version) {
        byte[] text = dict.getBytes(StandardCharsets.ISO_8859_1);
        int lenBytes = version == 1 ? 2 : 4;
        int preamble = MAGIC.length + 2 + lenBytes;
        int hlen = text.length + 1; // + final '\n'
        int pad = ALIGN - ((preamble + hlen) % ALIGN);
        long total = (long) hlen + pad;
        if (version == 1 && total > 0xffff) {
            return null;
        }
        ByteBuffer b = ByteBuffer.allocate(preamble + (int) total).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) version).put((byte) 0);
        if (version == 1) b.putShort((short) total); else b.putInt((int) total);
        b.put(text);
        for (int i = 0; i < pad; i++) b.put((byte) ' ');
        b.put((byte) '\n');
        return b.array();
    }

    /** Python tuple syntax: {@code ()}, {@code (5,)}, {@code (2, 3)}. */
    static String shapeString(long[] shape) {
        if (shape.length == 1) {
            return "(" + shape[0] + ",)";
        }
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(shape[i]);
        }
        return sb.append(')').toString();
    }

    private static long[] parseShape(String inner, Path file) throws IOException {
        String[] parts = inner.split(",");
        long[] dims = new long[parts.length];
        int n = 0;
        for (String p : parts) {
            String t = p.trim();
            if (t.endsWith("L")) t = t.substring(0, t.length() - 1); // Python 2 long literals
            if (t.isEmpty()) continue;
            try {
                dims[n++] = Long.parseLong(t);
            } catch (NumberFormatException e) {
                throw new IOException(file + ": bad shape in .npy header: (" + inner + ")");
            }
        }
        return Arrays.copyOf(dims, n);
    }

    private static String find(Pattern p, String header, String key, Path file) throws IOException {
        Matcher m = p.matcher(header);
        if (!m.find()) {
            throw new IOException(file + ": .npy header has no valid '" + key + "' entry: " + header.trim());
        }
        return m.group(1);
    }

    private static void readFully(FileChannel ch, ByteBuffer b, Path file) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new IOException(file + ": unexpected end of .npy file");
            }
        }
    }

    static long product(long[] shape) {
        long p = 1;
        for (long d : shape) {
            p = Math.multiplyExact(p, d);
        }
        return p;
    }

    private static void checkCount(int length, long[] shape) {
        if (product(shape) != length) {
            throw new IllegalArgumentException(
                    "data has " + length + " values but shape " + shapeString(shape) + " needs " + product(shape));
        }
    }

    private static ByteBuffer chunk() {
        return ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void drain(ByteBuffer buf, OutputStream out) throws IOException {
        out.write(buf.array(), 0, buf.position());
        buf.clear();
    }
}
