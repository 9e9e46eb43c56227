package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.hesstrain.runs.EventReader;
import dev.hesstrain.runs.MetricsCsv;
import dev.hesstrain.sweep.Member;
import dev.hesstrain.sweep.StackedRunner;
import dev.hesstrain.sweep.SweepDirectory;
import dev.hesstrain.sweep.SweepJob;
import dev.hesstrain.sweep.SweepPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** train and sweep write TensorBoard event files that hold metrics.csv, read back by an independent decoder. */
class TensorBoardCommandTest {
    static final String CONFIG = "configs/sin2pi.yaml";

    @Test
    void aRunsEventFileHoldsItsMetricsAndAResumeAddsAFile(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run("train", "--config", CONFIG, "--out", run.toString(), "--set", "train.epochs=3",
                "--set", "data.samples=80", "--set", "penalty.method=hutchinson", "--set", "train.checkpoint_every=1"),
                cli.err());
        List<Path> files = EventReader.files(run);
        assertEquals(1, files.size(), files.toString());
        assertMatchesMetrics(EventReader.read(files.get(0)), MetricsCsv.read(run.resolve("metrics.csv")), 1);
        byte[] first = Files.readAllBytes(files.get(0));

        CliRunner more = new CliRunner();
        assertEquals(0, more.run("train", "--resume", run.toString(), "--set", "train.epochs=5"), more.err());
        List<Path> after = EventReader.files(run);
        assertEquals(2, after.size(), after.toString());
        assertEquals(files.get(0), after.get(0)); // the old file first in name order, unchanged
        assertArrayEquals(first, Files.readAllBytes(after.get(0)));
        // the resumed file: its file_version, a SessionLog START at epoch 4 (TensorBoard's reader drops the
        // old file's steps from there on), then epochs 4 and 5
        List<EventReader.Event> resumed = new ArrayList<>(EventReader.read(after.get(1)));
        assertEquals(1, resumed.get(1).sessionLog());
        assertEquals(4, resumed.get(1).step());
        resumed.remove(1);
        assertMatchesMetrics(resumed, MetricsCsv.read(run.resolve("metrics.csv")), 4);
    }

    @Test
    void noTensorboardWritesNone(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run("train", "--config", CONFIG, "--out", run.toString(), "--set", "train.epochs=2",
                "--set", "data.samples=40", "--no-tensorboard"), cli.err());
        assertEquals(List.of(), EventReader.files(run));
    }

    @Test
    void aSweepWritesTheExperimentAndEachMembersSession(@TempDir Path tmp) throws IOException {
        Path out = tmp.resolve("sweep");
        CliRunner cli = new CliRunner();
        assertEquals(0, cli.run(SweepCommandTest.args(out, List.of(), "penalty.lambda=0,0.01", "seed=1,2")), cli.err());
        List<Path> top = EventReader.files(out);
        assertEquals(1, top.size());
        EventReader.Value experiment = EventReader.read(top.get(0)).get(1).values().get(0);
        assertEquals("_hparams_/experiment", experiment.tag());
        assertEquals("hparams", experiment.plugin());
        List<Path> members;
        try (var s = Files.list(out.resolve("members"))) {
            members = s.filter(Files::isDirectory).sorted().toList();   // beside them: members/.members.lock
        }
        assertEquals(4, members.size());
        for (Path m : members) {
            List<EventReader.Event> events = EventReader.read(EventReader.files(m).get(0));
            assertEquals("_hparams_/session_start_info", events.get(1).values().get(0).tag());
            assertEquals("_hparams_/session_end_info", events.get(events.size() - 1).values().get(0).tag());
            assertMatchesMetrics(events.subList(0, events.size() - 1).stream()
                    .filter(e -> e.values().isEmpty() || !e.values().get(0).tag().startsWith("_hparams_")).toList(),
                    MetricsCsv.read(m.resolve("metrics.csv")), 1);
        }
        CliRunner off = new CliRunner();
        Path quiet = tmp.resolve("quiet");
        assertEquals(0, off.run(SweepCommandTest.args(quiet, List.of("--no-tensorboard"), "seed=1,2")), off.err());
        assertEquals(List.of(), EventReader.files(quiet));
        try (var s = Files.list(quiet.resolve("members"))) {
            for (Path m : s.filter(Files::isDirectory).toList()) {
                assertEquals(List.of(), EventReader.files(m));
            }
        }
    }

    /**
     * An interrupted stacked sweep rerun: each member's first file has its session start and no end
     * (it goes on); the second starts with a SessionLog START at the epoch it continues from, has
     * no second session start, and ends the session as a success; the scalars TensorBoard keeps
     * of the two files are metrics.csv's.
     */
    @Test
    void anInterruptedSweepsMembersContinueTheirSessions(@TempDir Path tmp) throws IOException {
        SweepPlan plan = SweepPlan.resolve(Path.of(CONFIG), StackedResumeTest.SETS, List.of("penalty.lambda=1e-3,1e-1"));
        SweepDirectory dir = SweepDirectory.openFor(tmp.resolve("sweep"), plan);
        SweepJob job = new SweepJob(plan, Path.of("").toAbsolutePath());
        assertTrue(job.run(dir, plan.members(), new StackedRunner(), StackedResumeTest.QUIET,
                StackedResumeTest.stopAfter(7)).interrupted());
        for (Member m : plan.members()) {
            List<EventReader.Event> first = EventReader.read(EventReader.files(dir.memberPath(m)).get(0));
            assertEquals(1, tags(first, "_hparams_/session_start_info"), m.id());
            assertEquals(0, tags(first, "_hparams_/session_end_info"), m.id());
        }
        assertFalse(job.run(dir, plan.members(), new StackedRunner(), StackedResumeTest.QUIET, () -> null).interrupted());
        for (Member m : plan.members()) {
            Path member = dir.memberPath(m);
            List<Path> files = EventReader.files(member);
            assertEquals(2, files.size(), m.id());
            List<EventReader.Event> second = EventReader.read(files.get(1));
            assertEquals(1, second.get(1).sessionLog());
            assertEquals(0, tags(second, "_hparams_/session_start_info"));
            assertEquals(1, tags(second, "_hparams_/session_end_info"));
            MetricsCsv.Table table = MetricsCsv.read(member.resolve("metrics.csv"));
            assertEquals(6, table.rows().size());
            java.util.TreeMap<Long, Float> expected = new java.util.TreeMap<>();
            for (Map<String, String> row : table.rows()) {
                expected.put(Long.parseLong(row.get("epoch")), MetricsCsv.parseValue(row.get("train_mse")).floatValue());
            }
            assertEquals(expected, EventReader.scalars(member).get("train_mse"), m.id());
        }
    }

    private static long tags(List<EventReader.Event> events, String tag) {
        return events.stream().flatMap(e -> e.values().stream()).filter(v -> tag.equals(v.tag())).count();
    }

    /**
     * The file's first event is its file_version, then one event per metrics row from epoch
     * {@code from} on, at step = epoch, with one float per non-empty cell but the epoch, tagged
     * with the column.
     */
    static void assertMatchesMetrics(List<EventReader.Event> events, MetricsCsv.Table table, int from) throws IOException {
        assertEquals("brain.Event:2", events.get(0).fileVersion());
        List<Map<String, String>> rows = table.rows().subList(from - 1, table.rows().size());
        assertEquals(rows.size(), events.size() - 1);
        for (int i = 0; i < rows.size(); i++) {
            Map<String, String> row = rows.get(i);
            EventReader.Event e = events.get(i + 1);
            assertEquals(Long.parseLong(row.get("epoch")), e.step());
            List<String> tags = new ArrayList<>();
            for (String c : table.columns()) {
                Double v = MetricsCsv.parseValue(row.get(c));
                if (!c.equals("epoch") && v != null) {
                    tags.add(c);
                    EventReader.Value value = e.values().get(tags.size() - 1);
                    assertEquals(c, value.tag());
                    assertEquals(v.floatValue(), value.simple(), c + " at epoch " + row.get("epoch"));
                }
            }
            assertEquals(tags.size(), e.values().size());
            assertTrue(tags.contains("train_mse") && tags.contains("seconds"), tags.toString());
        }
    }
}
