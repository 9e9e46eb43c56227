package dev.hesstrain.runs;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * A TensorBoard event file, {@code events.out.tfevents.<seconds>.<host>}, as TensorFlow's
 * {@code EventsWriter} writes it: TFRecord framing (each record is its length as a little-endian
 * uint64, the masked CRC32C of those 8 bytes, the data, the masked CRC32C of the data), each
 * record's data one serialized {@code tensorboard.Event} (tensorboard/compat/proto/event.proto),
 * the first one holding {@code file_version: "brain.Event:2"}. The messages are encoded with
 * protobuf-java's {@link CodedOutputStream} under the field numbers of those protos; the checksum
 * is the JDK's {@link CRC32C}.
 *
 * <p>The file is created new, never replaced: a second file in the same directory and second gets
 * a {@code .1}, {@code .2} ... suffix, so a resumed run adds a file that sorts after the first
 * (TensorBoard reads a directory's event files in name order). Records are appended at least once
 * a second (see {@link #write}), so {@code tensorboard --logdir} shows a run as it goes, and the
 * file is open only while they are written; a record cut short by a kill is skipped by
 * TensorBoard's reader.
 */
public final class EventFile implements Closeable {
    /** The start of every event file's name (TensorBoard reads files whose name contains "tfevents"). */
    public static final String PREFIX = "events.out.tfevents.";
    /** The version TensorBoard reads from the first event: 2 lets it drop steps orphaned by a restart. */
    public static final String FILE_VERSION = "brain.Event:2";

    // tensorboard/compat/proto/event.proto: message Event
    static final int EVENT_WALL_TIME = 1;
    static final int EVENT_STEP = 2;
    static final int EVENT_FILE_VERSION = 3;
    static final int EVENT_SUMMARY = 5;
    static final int EVENT_SESSION_LOG = 7;

    /** Records are appended at most this often, and at {@link #close} (a sweep's members hold no descriptor). */
    static final long FLUSH_NANOS = 1_000_000_000L;
    /** ... or as soon as this many bytes wait. */
    static final int FLUSH_BYTES = 64 * 1024;

    private final Path path;
    /** The framed records not yet appended to the file. */
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private long lastFlush = System.nanoTime();

    private EventFile(Path path) {
        this.path = path;
    }

    /**
     * Creates a new event file in {@code dir} (which must exist) and writes its file_version event.
     *
     * @throws IOException naming the file when it cannot be created or written
     */
    public static EventFile create(Path dir) throws IOException {
        double now = System.currentTimeMillis() / 1000.0;
        String base = PREFIX + (long) now + "." + host();
        for (int i = 0;; i++) {
            Path p = dir.resolve(i == 0 ? base : base + "." + i);
            try {
                Files.newOutputStream(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
            } catch (FileAlreadyExistsException e) {
                continue;
            } catch (IOException e) {
                throw new IOException("cannot create the TensorBoard event file " + p + ": " + e.getMessage(), e);
            }
            EventFile f = new EventFile(p);
            f.write(event(now, 0, EVENT_FILE_VERSION, ByteString.copyFromUtf8(FILE_VERSION)));
            f.flush();
            return f;
        }
    }

    /** The file. */
    public Path path() {
        return path;
    }

    /**
     * Writes one Event holding {@code summary} (a serialized {@code tensorboard.Summary}) at
     * {@code step}, stamped with the current time.
     */
    public void summary(long step, ByteString summary) throws IOException {
        write(event(System.currentTimeMillis() / 1000.0, step, EVENT_SUMMARY, summary));
    }

    /**
     * Writes a SessionLog START event at {@code step} (event.proto: {@code SessionLog { SessionStatus
     * status = 1; }}, START = 1): TensorBoard's reader then drops the events at {@code step} and
     * after from the files before this one, as after a restart from a checkpoint.
     */
    public void sessionStart(long step) throws IOException {
        ByteString.Output log = ByteString.newOutput();
        CodedOutputStream c = CodedOutputStream.newInstance(log);
        c.writeEnum(1, 1);
        c.flush();
        write(event(System.currentTimeMillis() / 1000.0, step, EVENT_SESSION_LOG, log.toByteString()));
    }

    /**
     * Adds one record, the framed event, to those waiting; they are appended to the file (opened,
     * written in one call and closed again, so that no descriptor stays open between writes: a
     * sweep of thousands of members would run out of them) once a second, at 64 KiB, and at
     * {@link #flush} and {@link #close}. A running {@code tensorboard} so sees a run at most a second late.
     */
    void write(byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(data.length + 16).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(data.length);
        b.putInt(maskedCrc32c(b.array(), 0, 8));
        b.put(data);
        b.putInt(maskedCrc32c(data, 0, data.length));
        pending.write(b.array());
        if (pending.size() >= FLUSH_BYTES || System.nanoTime() - lastFlush >= FLUSH_NANOS) {
            flush();
        }
    }

    /** Appends the waiting records to the file. */
    public void flush() throws IOException {
        lastFlush = System.nanoTime();
        if (pending.size() == 0) {
            return;
        }
        try (OutputStream out = Files.newOutputStream(path, StandardOpenOption.APPEND, StandardOpenOption.WRITE)) {
            pending.writeTo(out);
        } catch (IOException e) {
            throw new IOException("cannot write the TensorBoard event file " + path + ": " + e.getMessage(), e);
        } finally {
            pending.reset();
        }
    }

    /**
     * TFRecord's masked CRC32C ({@code tensorflow/core/lib/hash/crc32c.h}): the checksum rotated
     * right by 15 bits plus 0xa282ead8, so that a checksum of data holding checksums stays strong.
     */
    public static int maskedCrc32c(byte[] data, int offset, int length) {
        CRC32C c = new CRC32C();
        c.update(data, offset, length);
        int crc = (int) c.getValue();
        return ((crc >>> 15) | (crc << 17)) + 0xa282ead8;
    }

    /** An Event with wall time, step and one length-delimited field of the {@code what} oneof. */
    private static byte[] event(double wallTime, long step, int field, ByteString value) throws IOException {
        byte[] bytes = new byte[CodedOutputStream.computeDoubleSize(EVENT_WALL_TIME, wallTime)
                + (step != 0 ? CodedOutputStream.computeInt64Size(EVENT_STEP, step) : 0)
                + CodedOutputStream.computeBytesSize(field, value)];
        CodedOutputStream c = CodedOutputStream.newInstance(bytes);
        c.writeDouble(EVENT_WALL_TIME, wallTime);
        if (step != 0) {
            c.writeInt64(EVENT_STEP, step);
        }
        c.writeBytes(field, value);
        c.checkNoSpaceLeft();
        return bytes;
    }

    /** This machine's name for the file name (TensorFlow's too), without characters a path cannot hold. */
    static String host() {
        String h;
        try {
            h = InetAddress.getLocalHost().getHostName();
        } catch (IOException | RuntimeException e) {
            h = System.getenv().getOrDefault("HOSTNAME", "localhost");
        }
        h = h.replaceAll("[^A-Za-z0-9._-]", "_");
        return h.isEmpty() ? "localhost" : h;
    }

    @Override
    public void close() throws IOException {
        flush();
    }
}
