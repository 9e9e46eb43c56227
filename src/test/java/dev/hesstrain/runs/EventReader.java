package dev.hesstrain.runs;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * A TensorBoard event file read back independently of {@link EventFile}: the TFRecord framing
 * with both masked CRC32C checksums checked, and the Event and Summary messages parsed with
 * protobuf-java's {@link CodedInputStream} under event.proto's and summary.proto's field numbers.
 * It follows TensorBoard's reader ({@code tensorboard/backend/event_processing/event_file_loader.py}
 * over its {@code PyRecordReader}): a record cut short at the end of the file (a header or a body
 * not all there yet) ends the read without error, as a file still being written does; a checksum
 * that does not match is data loss, an error.
 */
public final class EventReader {
    private EventReader() {}

    /** A Summary.Value: its tag, simple_value (NaN when absent), and plugin name and content when present. */
    public record Value(String tag, float simple, String plugin, ByteString content, boolean hasTensor) {}

    /** An Event: wall time, step, file_version (or null), its summary values, its session_log status (0: none). */
    public record Event(double wallTime, long step, String fileVersion, List<Value> values, int sessionLog) {}

    /** The complete records of {@code file}, in order. */
    public static List<Event> read(Path file) throws IOException {
        List<Event> events = new ArrayList<>();
        for (byte[] data : records(Files.readAllBytes(file))) {
            events.add(event(data));
        }
        return events;
    }

    /** The event files of a directory, in name order (TensorBoard's order). */
    public static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().contains("tfevents")).sorted().toList();
        }
    }

    /**
     * The scalars of a run directory as TensorBoard's event accumulator keeps them: tag -> step ->
     * value, reading the files in name order; with file version 2 a SessionLog START at step s (a
     * restart) drops every value at step s and after that came before it
     * ({@code _CheckForRestartAndMaybePurge} and {@code _Purge} in event_accumulator.py).
     */
    public static java.util.Map<String, java.util.TreeMap<Long, Float>> scalars(Path dir) throws IOException {
        java.util.Map<String, java.util.TreeMap<Long, Float>> out = new java.util.LinkedHashMap<>();
        for (Path f : files(dir)) {
            for (Event e : read(f)) {
                if (e.sessionLog() == 1) {
                    out.values().forEach(series -> series.tailMap(e.step(), true).clear());
                }
                for (Value v : e.values()) {
                    if (v.plugin() == null) {
                        out.computeIfAbsent(v.tag(), t -> new java.util.TreeMap<>()).put(e.step(), v.simple());
                    }
                }
            }
        }
        return out;
    }

    /** The record bodies: length (u64 LE), masked crc of length, data, masked crc of data. */
    public static List<byte[]> records(byte[] bytes) throws IOException {
        List<byte[]> out = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        while (b.remaining() > 0) {
            if (b.remaining() < 12) {
                break; // a header cut short: the reader waits for the rest
            }
            int start = b.position();
            long length = b.getLong();
            int lengthCrc = b.getInt();
            if (lengthCrc != masked(bytes, start, 8)) {
                throw new IOException("length checksum mismatch at byte " + start);
            }
            if (b.remaining() < length + 4) {
                break; // a body cut short
            }
            byte[] data = new byte[(int) length];
            b.get(data);
            int dataCrc = b.getInt();
            if (dataCrc != masked(data, 0, data.length)) {
                throw new IOException("data checksum mismatch in the record at byte " + start);
            }
            out.add(data);
        }
        return out;
    }

    /** crc32c.h's Mask: ((crc >> 15) | (crc << 17)) + 0xa282ead8, in unsigned 32-bit arithmetic. */
    static int masked(byte[] data, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(data, off, len);
        long crc = c.getValue();
        long rotated = ((crc >>> 15) | (crc << 17)) & 0xffffffffL;
        return (int) ((rotated + 0xa282ead8L) & 0xffffffffL);
    }

    static Event event(byte[] data) throws IOException {
        CodedInputStream in = CodedInputStream.newInstance(data);
        double wall = 0;
        long step = 0;
        String version = null;
        List<Value> values = new ArrayList<>();
        int sessionLog = 0;
        for (int tag; (tag = in.readTag()) != 0;) {
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 7 -> { // SessionLog { SessionStatus status = 1; }
                    CodedInputStream log = in.readBytes().newCodedInput();
                    for (int t; (t = log.readTag()) != 0;) {
                        if (WireFormat.getTagFieldNumber(t) == 1) {
                            sessionLog = log.readEnum();
                        } else {
                            log.skipField(t);
                        }
                    }
                }
                case 1 -> wall = in.readDouble();
                case 2 -> step = in.readInt64();
                case 3 -> version = in.readString();
                case 5 -> values.addAll(summary(in.readBytes()));
                default -> in.skipField(tag);
            }
        }
        return new Event(wall, step, version, values, sessionLog);
    }

    private static List<Value> summary(ByteString bytes) throws IOException {
        CodedInputStream in = bytes.newCodedInput();
        List<Value> values = new ArrayList<>();
        for (int tag; (tag = in.readTag()) != 0;) {
            if (WireFormat.getTagFieldNumber(tag) == 1) {
                values.add(value(in.readBytes()));
            } else {
                in.skipField(tag);
            }
        }
        return values;
    }

    private static Value value(ByteString bytes) throws IOException {
        CodedInputStream in = bytes.newCodedInput();
        String tag = null;
        float simple = Float.NaN;
        String plugin = null;
        ByteString content = null;
        boolean tensor = false;
        for (int t; (t = in.readTag()) != 0;) {
            switch (WireFormat.getTagFieldNumber(t)) {
                case 1 -> tag = in.readString();
                case 2 -> simple = in.readFloat();
                case 8 -> {
                    tensor = true;
                    in.skipField(t);
                }
                case 9 -> {
                    CodedInputStream meta = in.readBytes().newCodedInput();
                    for (int m; (m = meta.readTag()) != 0;) {
                        if (WireFormat.getTagFieldNumber(m) == 1) {
                            CodedInputStream pd = meta.readBytes().newCodedInput();
                            for (int p; (p = pd.readTag()) != 0;) {
                                switch (WireFormat.getTagFieldNumber(p)) {
                                    case 1 -> plugin = pd.readString();
                                    case 2 -> content = pd.readBytes();
                                    default -> pd.skipField(p);
                                }
                            }
                        } else {
                            meta.skipField(m);
                        }
                    }
                }
                default -> in.skipField(t);
            }
        }
        return new Value(tag, simple, plugin, content, tensor);
    }
}
