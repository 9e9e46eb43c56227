package dev.hesstrain.runs;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.UnsafeByteOperations;
import com.google.protobuf.WireFormat;
import com.google.protobuf.ListValue;
import com.google.protobuf.Value;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A run's TensorBoard scalars, written beside metrics.csv as its rows are added: each row becomes
 * one Event at step = its {@code epoch}, with one {@code simple_value} (float32, as TensorBoard
 * stores scalars) per numeric cell, tagged with the column's name; empty cells (an epoch that did
 * not evaluate a figure) are left out. A sweep also writes the HParams plugin's summaries: the
 * experiment in the sweep directory ({@link #experiment}), and in each member's event file a
 * session start with the member's varied fields and a session end with its status, so that the
 * HParams tab lists the members with their fields and final metrics.
 *
 * <p>{@link #OFF} (for {@code --no-tensorboard}) takes the same calls and writes nothing. Write
 * errors are {@link UncheckedIOException}s naming the file, as a run's other files' are.
 */
public final class TensorBoard implements Closeable {
    /** The HParams plugin's name and tags (tensorboard/plugins/hparams/metadata.py). */
    static final String HPARAMS_PLUGIN = "hparams";
    public static final String EXPERIMENT_TAG = "_hparams_/experiment";
    public static final String SESSION_START_TAG = "_hparams_/session_start_info";
    public static final String SESSION_END_TAG = "_hparams_/session_end_info";

    /** Session statuses of tensorboard/plugins/hparams/api.proto. */
    public static final int STATUS_SUCCESS = 1;
    public static final int STATUS_FAILURE = 2;

    /** Takes every call and writes nothing. */
    public static final TensorBoard OFF = new TensorBoard(null);

    private final EventFile file;

    private TensorBoard(EventFile file) {
        this.file = file;
    }

    /**
     * A new event file in the run directory {@code dir} when {@code on}, else {@link #OFF}. A
     * resumed run opens a new file: the old one stays as it is.
     */
    public static TensorBoard open(Path dir, boolean on) {
        if (!on) {
            return OFF;
        }
        try {
            return new TensorBoard(EventFile.create(dir));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The event file, or null for {@link #OFF}. */
    public Path path() {
        return file == null ? null : file.path();
    }

    /**
     * Writes a metrics row (the map given to {@link MetricsCsv#add}): its numeric cells but the
     * epoch, at step = the row's {@code epoch}. A row without an epoch, or without any numeric
     * cell, writes nothing.
     */
    public void add(Map<String, ?> row) {
        if (file == null || !(row.get("epoch") instanceof Number epoch)) {
            return;
        }
        Map<String, Double> values = new LinkedHashMap<>();
        for (Map.Entry<String, ?> e : row.entrySet()) {
            if (!e.getKey().equals("epoch") && e.getValue() instanceof Number v) {
                values.put(e.getKey(), v.doubleValue());
            }
        }
        if (values.isEmpty()) {
            return;
        }
        try {
            file.summary(epoch.longValue(), scalars(values));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Marks a run resumed from its checkpoint: its next row is epoch {@code nextEpoch}. TensorBoard
     * drops what the files before this one hold from that epoch on (rows written after the
     * checkpoint before the run stopped), so its curves show what metrics.csv holds.
     */
    public void resumedAt(long nextEpoch) {
        if (file == null) {
            return;
        }
        try {
            file.sessionStart(nextEpoch);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The HParams session start of a sweep member: its varied fields (numbers as numbers,
     * {@code true}/{@code false} as booleans, anything else as text), in its own event file; once,
     * in its first file (a resumed member's session goes on).
     */
    public void sessionStart(Map<String, String> hparams) {
        if (file == null) {
            return;
        }
        // plugin_data.proto: SessionStartInfo { map<string, Value> hparams = 1; double start_time_secs = 5; }
        write(SESSION_START_TAG, HPARAMS_SESSION_START, message(c -> {
            for (Map.Entry<String, String> e : hparams.entrySet()) {
                c.writeBytes(1, message(entry -> {
                    entry.writeString(1, e.getKey());
                    entry.writeMessage(2, value(e.getValue()));
                }));
            }
            c.writeDouble(5, System.currentTimeMillis() / 1000.0);
        }));
    }

    /**
     * The HParams session end of a member that stopped for {@code reason} (a {@code StopReason}
     * id): {@link #STATUS_SUCCESS} for completed, {@link #STATUS_FAILURE} for diverged; nothing
     * for interrupted, as the member continues when the sweep is rerun, and TensorBoard keeps the
     * first end a session is given.
     */
    public void sessionEnd(String reason) {
        if (file == null || "interrupted".equals(reason)) {
            return;
        }
        int status = "completed".equals(reason) || "early_stopped".equals(reason) ? STATUS_SUCCESS : STATUS_FAILURE;
        // plugin_data.proto: SessionEndInfo { Status status = 1; double end_time_secs = 2; }
        write(SESSION_END_TAG, HPARAMS_SESSION_END, message(c -> {
            c.writeEnum(1, status);
            c.writeDouble(2, System.currentTimeMillis() / 1000.0);
        }));
    }

    /**
     * Writes a sweep's HParams experiment into a new event file in {@code sweepDir}: one hparam
     * per varied field, with its values as a discrete domain, and one metric per name in
     * {@code metrics} (metrics.csv's columns, read from each member's own run). A no-op unless
     * {@code on}, and when the directory holds an event file already (a resumed sweep, another shard).
     *
     * @param members each member's varied fields, as {@link #sessionStart} takes them
     */
    public static void experiment(Path sweepDir, boolean on, List<Map<String, String>> members, Collection<String> metrics) {
        if (!on || holdsEventFile(sweepDir)) {
            return;
        }
        Map<String, Set<String>> domains = new LinkedHashMap<>();
        for (Map<String, String> m : members) {
            m.forEach((k, v) -> domains.computeIfAbsent(k, x -> new LinkedHashSet<>()).add(v));
        }
        // api.proto: Experiment { double time_created_secs = 3; repeated HParamInfo hparam_infos = 4;
        // repeated MetricInfo metric_infos = 5; }
        ByteString experiment = message(c -> {
            c.writeDouble(3, System.currentTimeMillis() / 1000.0);
            for (Map.Entry<String, Set<String>> e : domains.entrySet()) {
                // HParamInfo { string name = 1; DataType type = 4; ListValue domain_discrete = 5; }
                ListValue.Builder domain = ListValue.newBuilder();
                int type = DATA_TYPE_FLOAT64;
                for (String v : e.getValue()) {
                    Value value = value(v);
                    domain.addValues(value);
                    if (value.getKindCase() == Value.KindCase.STRING_VALUE) {
                        type = DATA_TYPE_STRING;
                    } else if (value.getKindCase() == Value.KindCase.BOOL_VALUE && type != DATA_TYPE_STRING) {
                        type = DATA_TYPE_BOOL;
                    }
                }
                int t = type;
                boolean mixed = domain.getValuesList().stream().map(Value::getKindCase).distinct().count() > 1;
                c.writeBytes(4, message(info -> {
                    info.writeString(1, e.getKey());
                    info.writeEnum(4, t);
                    if (!mixed) {
                        info.writeMessage(5, domain.build());
                    }
                }));
            }
            for (String metric : metrics) {
                // MetricInfo { MetricName name = 1 { string group = 1; string tag = 2; }; DatasetType dataset_type = 5; }
                c.writeBytes(5, message(info -> {
                    info.writeBytes(1, message(name -> name.writeString(2, metric)));
                    int dataset = metric.startsWith("val_") ? 2 : metric.startsWith("train_") ? 1 : 0;
                    if (dataset != 0) {
                        info.writeEnum(5, dataset);
                    }
                }));
            }
        });
        try (TensorBoard tb = open(sweepDir, true)) {
            tb.write(EXPERIMENT_TAG, HPARAMS_EXPERIMENT, experiment);
        }
    }

    private static boolean holdsEventFile(Path dir) {
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(dir)) {
            return files.anyMatch(f -> f.getFileName().toString().startsWith(EventFile.PREFIX));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A varied field's value as the HParams plugin takes it: a number, a boolean or text. */
    static Value value(String v) {
        if (v.equals("true") || v.equals("false")) {
            return Value.newBuilder().setBoolValue(Boolean.parseBoolean(v)).build();
        }
        try {
            double d = Double.parseDouble(v);
            if (Double.isFinite(d)) {
                return Value.newBuilder().setNumberValue(d).build();
            }
        } catch (NumberFormatException e) {
            // text
        }
        return Value.newBuilder().setStringValue(v).build();
    }

    // tensorboard/compat/proto/summary.proto
    static final int SUMMARY_VALUE = 1;
    static final int VALUE_TAG = 1;
    static final int VALUE_SIMPLE_VALUE = 2;
    static final int VALUE_TENSOR = 8;
    static final int VALUE_METADATA = 9;
    // plugin_data.proto: HParamsPluginData { int32 version = 1; oneof data { experiment = 2; session_start_info = 3;
    // session_end_info = 4; } }
    static final int HPARAMS_EXPERIMENT = 2;
    static final int HPARAMS_SESSION_START = 3;
    static final int HPARAMS_SESSION_END = 4;
    // api.proto: enum DataType
    static final int DATA_TYPE_STRING = 1;
    static final int DATA_TYPE_BOOL = 2;
    static final int DATA_TYPE_FLOAT64 = 3;

    /**
     * A Summary of one Summary.Value { tag = 1; simple_value = 2 } per entry, encoded into one array
     * of its exact size (a row is written every epoch of every member: no stream and buffer per value).
     */
    private static ByteString scalars(Map<String, Double> values) throws IOException {
        int[] inner = new int[values.size()];
        int size = 0;
        int i = 0;
        for (Map.Entry<String, Double> e : values.entrySet()) {
            inner[i] = CodedOutputStream.computeStringSize(VALUE_TAG, e.getKey())
                    + CodedOutputStream.computeFloatSize(VALUE_SIMPLE_VALUE, e.getValue().floatValue());
            size += CodedOutputStream.computeTagSize(SUMMARY_VALUE) + CodedOutputStream.computeUInt32SizeNoTag(inner[i])
                    + inner[i];
            i++;
        }
        byte[] bytes = new byte[size];
        CodedOutputStream c = CodedOutputStream.newInstance(bytes);
        i = 0;
        for (Map.Entry<String, Double> e : values.entrySet()) {
            c.writeTag(SUMMARY_VALUE, WireFormat.WIRETYPE_LENGTH_DELIMITED);
            c.writeUInt32NoTag(inner[i++]);
            c.writeString(VALUE_TAG, e.getKey());
            c.writeFloat(VALUE_SIMPLE_VALUE, e.getValue().floatValue());
        }
        c.checkNoSpaceLeft();
        return UnsafeByteOperations.unsafeWrap(bytes);
    }

    /**
     * One Summary with one hparams Value: the tag, SummaryMetadata { plugin_data = 1 { plugin_name
     * = 1; content = 2: HParamsPluginData, version 0 } } and an empty float tensor, as the plugin's
     * own summary writer makes it.
     */
    private void write(String tag, int dataField, ByteString data) {
        ByteString content = message(c -> c.writeBytes(dataField, data)); // version 0: the default, not written
        ByteString metadata = message(c -> c.writeBytes(1, message(p -> {
            p.writeString(1, HPARAMS_PLUGIN);
            p.writeBytes(2, content);
        })));
        // TensorProto { DataType dtype = 1 (DT_FLOAT = 1); TensorShapeProto tensor_shape = 2 { Dim dim = 2 { size = 1 } } }
        ByteString tensor = message(t -> {
            t.writeEnum(1, 1);
            t.writeBytes(2, message(shape -> shape.writeBytes(2, ByteString.EMPTY)));
        });
        ByteString summary = message(c -> c.writeBytes(SUMMARY_VALUE, message(v -> {
            v.writeString(VALUE_TAG, tag);
            v.writeBytes(VALUE_TENSOR, tensor);
            v.writeBytes(VALUE_METADATA, metadata);
        })));
        try {
            file.summary(0, summary);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private interface Fields {
        void write(CodedOutputStream c) throws IOException;
    }

    /** A message's bytes, its fields written by {@code fields}. */
    private static ByteString message(Fields fields) {
        try {
            ByteString.Output bytes = ByteString.newOutput();
            CodedOutputStream c = CodedOutputStream.newInstance(bytes);
            fields.write(c);
            c.flush();
            return bytes.toByteString();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // in memory: does not happen
        }
    }

    @Override
    public void close() {
        if (file != null) {
            try {
                file.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * Closes while another failure ends the run (a full disk, an interrupt): that one is reported,
     * and the records still waiting, which this close could not write either, go with the run.
     * After a {@link #close} that succeeded there is nothing left to write.
     */
    public void closeAfterFailure() {
        try {
            close();
        } catch (UncheckedIOException e) {
            // the failure in flight names the directory and what is kept; this one would hide it
        }
    }
}
