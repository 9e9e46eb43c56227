package dev.hesstrain.runs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Value;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The event files read back by {@link EventReader}, which shares no code with the writer. */
class TensorBoardTest {

    @Test
    void maskedChecksumsMatchTensorFlowsKnownValue() {
        // computed independently, both implementations agree on arbitrary data
        byte[] data = "a record".getBytes(StandardCharsets.UTF_8);
        assertEquals(EventReader.masked(data, 0, data.length), EventFile.maskedCrc32c(data, 0, data.length));
        // crc32c("123456789") = 0xe3069283 (RFC 3720's check value); masked by hand
        long crc = 0xe3069283L;
        long masked = ((((crc >>> 15) | (crc << 17)) & 0xffffffffL) + 0xa282ead8L) & 0xffffffffL;
        byte[] check = "123456789".getBytes(StandardCharsets.US_ASCII);
        assertEquals((int) masked, EventFile.maskedCrc32c(check, 0, check.length));
    }

    @Test
    void rowsBecomeScalarsAtTheirEpochSkippingEmptyCells(@TempDir Path dir) throws IOException {
        Path file;
        try (TensorBoard tb = TensorBoard.open(dir, true)) {
            file = tb.path();
            tb.add(row(1, 0.5, null, 0.25));
            tb.add(row(2, 0.125, 3.0e-5, Double.NaN));
            tb.add(row(3, null, null, null)); // nothing to write
        }
        assertTrue(file.getFileName().toString().startsWith("events.out.tfevents."), file.toString());
        List<EventReader.Event> events = EventReader.read(file);
        assertEquals(3, events.size());
        assertEquals("brain.Event:2", events.get(0).fileVersion());
        assertTrue(events.get(0).values().isEmpty());
        EventReader.Event e1 = events.get(1);
        assertEquals(1, e1.step());
        assertEquals(List.of("train_mse", "seconds"), e1.values().stream().map(EventReader.Value::tag).toList());
        assertEquals(0.5f, e1.values().get(0).simple());
        assertEquals(0.25f, e1.values().get(1).simple());
        EventReader.Event e2 = events.get(2);
        assertEquals(2, e2.step());
        assertEquals(List.of("train_mse", "penalty_exact", "seconds"), e2.values().stream().map(EventReader.Value::tag).toList());
        assertEquals(3.0e-5f, e2.values().get(1).simple());
        assertTrue(Float.isNaN(e2.values().get(2).simple()));
        assertTrue(Math.abs(e2.wallTime() - System.currentTimeMillis() / 1000.0) < 600);
    }

    @Test
    void aTruncatedLastRecordIsSkippedAndAReopenedRunAddsANewFile(@TempDir Path dir) throws IOException {
        Path first;
        try (TensorBoard tb = TensorBoard.open(dir, true)) {
            first = tb.path();
            tb.add(row(1, 0.5, null, 0.1));
            tb.add(row(2, 0.4, null, 0.1));
        }
        byte[] whole = Files.readAllBytes(first);
        // a kill in the middle of the last record: each cut of it leaves the first two records
        int lastStart = EventReader.records(whole).stream().limit(2).mapToInt(r -> r.length + 16).sum();
        for (int cut = lastStart + 1; cut < whole.length; cut += 3) {
            Files.write(first, Arrays.copyOf(whole, cut));
            List<EventReader.Event> events = EventReader.read(first);
            assertEquals(2, events.size(), "cut at " + cut);
            assertEquals(1, events.get(1).step());
        }
        byte[] cutShort = Arrays.copyOf(whole, whole.length - 5);
        Files.write(first, cutShort);
        // a flipped bit is data loss, not a truncation
        byte[] flipped = whole.clone();
        flipped[lastStart + 14] ^= 1;
        Path bad = dir.resolve("bad.tfevents");
        Files.write(bad, flipped);
        assertThrows(IOException.class, () -> EventReader.read(bad));
        Files.delete(bad);
        // the resumed run: a second file, sorting after the first; the first is left as it was
        Path second;
        try (TensorBoard tb = TensorBoard.open(dir, true)) {
            second = tb.path();
            tb.add(row(2, 0.3, null, 0.1));
        }
        assertTrue(second.getFileName().toString().compareTo(first.getFileName().toString()) > 0);
        assertArrayEquals(cutShort, Files.readAllBytes(first));
        assertEquals(List.of(first, second), EventReader.files(dir));
        List<EventReader.Event> resumed = EventReader.read(second);
        assertEquals("brain.Event:2", resumed.get(0).fileVersion());
        assertEquals(2, resumed.get(1).step());
        assertEquals(0.3f, resumed.get(1).values().get(0).simple());
    }

    @Test
    void aResumedRunsStartDropsTheStepsOfTheOldFileFromThere(@TempDir Path dir) throws IOException {
        try (TensorBoard tb = TensorBoard.open(dir, true)) {
            for (int e = 1; e <= 5; e++) {
                tb.add(row(e, 1.0 * e, null, 0.1)); // epochs 4 and 5 after the checkpoint of epoch 3
            }
        }
        try (TensorBoard tb = TensorBoard.open(dir, true)) {
            tb.resumedAt(4);
            tb.add(row(4, 40.0, null, 0.1));
        }
        List<EventReader.Event> second = EventReader.read(EventReader.files(dir).get(1));
        assertEquals(1, second.get(1).sessionLog()); // START
        assertEquals(4, second.get(1).step());
        assertEquals(Map.of(1L, 1f, 2L, 2f, 3L, 3f, 4L, 40f), EventReader.scalars(dir).get("train_mse"));
    }

    @Test
    void offWritesNothing(@TempDir Path dir) throws IOException {
        try (TensorBoard tb = TensorBoard.open(dir, false)) {
            tb.add(row(1, 0.5, null, 0.1));
            tb.sessionStart(Map.of("seed", "1"));
            tb.sessionEnd("completed");
            assertNull(tb.path());
        }
        TensorBoard.experiment(dir, false, List.of(Map.of("seed", "1")), List.of("val_mse"));
        try (var s = Files.list(dir)) {
            assertEquals(0, s.count());
        }
    }

    @Test
    void hparamsSessionsAndTheExperimentDecode(@TempDir Path dir) throws IOException {
        Map<String, String> member = new LinkedHashMap<>();
        member.put("penalty.lambda", "0.001");
        member.put("seed", "3");
        member.put("train.optimizer", "sgd");
        try (TensorBoard tb = TensorBoard.open(dir, true)) {
            tb.sessionStart(member);
            tb.add(row(1, 0.5, null, 0.1));
            tb.sessionEnd("diverged");
            tb.sessionEnd("interrupted"); // writes nothing: the member goes on when rerun
        }
        List<EventReader.Event> events = EventReader.read(EventReader.files(dir).get(0));
        EventReader.Value start = events.get(1).values().get(0);
        assertEquals("_hparams_/session_start_info", start.tag());
        assertEquals("hparams", start.plugin());
        assertTrue(start.hasTensor());
        Map<Integer, ByteString> data = fields(start.content());
        assertEquals(List.of(3), new ArrayList<>(data.keySet())); // HParamsPluginData.session_start_info, version 0
        Map<String, Value> hparams = new LinkedHashMap<>();
        CodedInputStream in = data.get(3).newCodedInput();
        for (int t; (t = in.readTag()) != 0;) {
            if (WireFormat.getTagFieldNumber(t) == 1) { // map entry { key = 1; value = 2 }
                Map<Integer, ByteString> entry = fields(in.readBytes());
                hparams.put(entry.get(1).toStringUtf8(), Value.parseFrom(entry.get(2)));
            } else {
                in.skipField(t);
            }
        }
        assertEquals(0.001, hparams.get("penalty.lambda").getNumberValue());
        assertEquals(3.0, hparams.get("seed").getNumberValue());
        assertEquals("sgd", hparams.get("train.optimizer").getStringValue());
        assertEquals(4, events.size());
        EventReader.Value end = events.get(3).values().get(0);
        assertEquals("_hparams_/session_end_info", end.tag());
        CodedInputStream endInfo = fields(end.content()).get(4).newCodedInput();
        assertEquals((1 << 3) | WireFormat.WIRETYPE_VARINT, endInfo.readTag()); // status = 1
        assertEquals(TensorBoard.STATUS_FAILURE, endInfo.readEnum());

        Path sweep = Files.createDirectory(dir.resolve("sweep"));
        List<Map<String, String>> members = List.of(Map.of("seed", "1"), Map.of("seed", "2"));
        TensorBoard.experiment(sweep, true, members, List.of("train_mse", "val_mse"));
        TensorBoard.experiment(sweep, true, members, List.of("train_mse", "val_mse")); // once only
        assertEquals(1, EventReader.files(sweep).size());
        EventReader.Value exp = EventReader.read(EventReader.files(sweep).get(0)).get(1).values().get(0);
        assertEquals("_hparams_/experiment", exp.tag());
        CodedInputStream x = fields(exp.content()).get(2).newCodedInput();
        List<String> hparamNames = new ArrayList<>();
        List<String> metricTags = new ArrayList<>();
        List<Double> seeds = new ArrayList<>();
        for (int t; (t = x.readTag()) != 0;) {
            int f = WireFormat.getTagFieldNumber(t);
            if (f == 4) { // HParamInfo { name = 1; type = 4; domain_discrete = 5 }
                Map<Integer, ByteString> info = fields(x.readBytes());
                hparamNames.add(info.get(1).toStringUtf8());
                com.google.protobuf.ListValue.parseFrom(info.get(5)).getValuesList().forEach(v -> seeds.add(v.getNumberValue()));
            } else if (f == 5) { // MetricInfo { name = 1 { group = 1; tag = 2 } }
                metricTags.add(fields(fields(x.readBytes()).get(1)).get(2).toStringUtf8());
            } else {
                x.skipField(t);
            }
        }
        assertEquals(List.of("seed"), hparamNames);
        assertEquals(List.of(1.0, 2.0), seeds);
        assertEquals(List.of("train_mse", "val_mse"), metricTags);
    }

    /** The length-delimited fields of a message by number (the last of each). */
    static Map<Integer, ByteString> fields(ByteString message) throws IOException {
        Map<Integer, ByteString> out = new LinkedHashMap<>();
        CodedInputStream in = message.newCodedInput();
        for (int t; (t = in.readTag()) != 0;) {
            if (WireFormat.getTagWireType(t) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                out.put(WireFormat.getTagFieldNumber(t), in.readBytes());
            } else {
                in.skipField(t);
            }
        }
        return out;
    }

    private static Map<String, Object> row(int epoch, Double train, Double exact, Double seconds) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("epoch", epoch);
        row.put("train_mse", train);
        row.put("penalty_exact", exact);
        row.put("seconds", seconds);
        return row;
    }
}
