package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hesstrain.runs.Json;
import dev.hesstrain.sweep.Member;
import dev.hesstrain.sweep.MemberRunner;
import dev.hesstrain.sweep.StackedRunner;
import dev.hesstrain.sweep.SweepDirectory;
import dev.hesstrain.sweep.SweepJob;
import dev.hesstrain.sweep.SweepPlan;
import dev.hesstrain.train.EpochMetrics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A member of a stacked sweep that was interrupted keeps the checkpoint.safetensors a plain run
 * keeps, so that {@code train --resume} continues it to the metrics of an uninterrupted plain run.
 */
class StackedResumeTest {
    /** 48 training samples in batches of 24: two steps an epoch. */
    static final List<String> SETS = List.of("data.samples=60", "train.epochs=6", "train.batch_size=24",
            "train.checkpoint_every=1");

    static final MemberRunner.Progress QUIET = new MemberRunner.Progress() {
        @Override
        public void memberStarted(Member m) {}

        @Override
        public void epoch(Member m, EpochMetrics e) {}

        @Override
        public void memberFinished(Member m, String stopped) {}
    };

    /** The member's metrics.csv equals that of a plain train run of its spec.yaml, all 6 epochs uninterrupted. */
    static void assertMetricsOfAnUninterruptedPlainRun(Member m, Path member, Path tmp) throws IOException {
        Path plain = tmp.resolve("plain-" + m.index());
        CliRunner train = new CliRunner();
        assertEquals(0, train.run("train", "--config", member.resolve("spec.yaml").toString(), "--out",
                plain.toString()), train.err());
        List<String> expected = SweepCommandTest.metricsWithoutSeconds(plain);
        assertEquals(7, expected.size(), "a header and 6 epochs");
        SweepCommandTest.assertClose(expected, SweepCommandTest.metricsWithoutSeconds(member), "member " + m.id());
    }

    /** A stop asked for after {@code steps} stacked steps, as a signal would. */
    static Supplier<String> stopAfter(long steps) {
        long[] polls = {0};
        return () -> polls[0] >= steps || ++polls[0] >= steps ? "SIGTERM" : null;
    }

    /**
     * Running the interrupted sweep again into its directory continues its members from their
     * checkpoints, as one stacked program again, to the metrics of uninterrupted plain runs; a
     * member that completed is skipped, one without a checkpoint trains afresh.
     */
    @ParameterizedTest
    @ValueSource(strings = {"penalty.lambda=1e-3,1e-1,1 train.lr=0.01,0.03", "penalty.lambda=1e-3,1e-2,1e-1,1"})
    void rerunningAnInterruptedSweepContinuesItsMembersStacked(String grid, @TempDir Path tmp) throws IOException {
        // with their own lr, and (λ only) with the fused Adam update
        SweepPlan plan = SweepPlan.resolve(Path.of(SweepCommandTest.CONFIG), SETS, List.of(grid.split(" ")));
        int n = plan.members().size();
        Path out = tmp.resolve("sweep");
        SweepDirectory dir = SweepDirectory.openFor(out, plan);
        SweepJob job = new SweepJob(plan, Path.of("").toAbsolutePath());
        assertTrue(job.run(dir, plan.members(), new StackedRunner(), QUIET, stopAfter(7)).interrupted());
        Member fresh = plan.members().get(n - 1); // as if its directory never got a checkpoint
        Files.delete(dir.memberPath(fresh).resolve("checkpoint.safetensors"));

        SweepJob.Result again = job.run(dir, plan.members(), new StackedRunner(), QUIET, () -> null);
        assertTrue(!again.interrupted() && !again.anyFailed(), again.outcomes().toString());
        assertEquals(n, again.outcomes().size());
        for (Member m : plan.members()) {
            Path member = dir.memberPath(m);
            JsonNode after = Json.readTree(member.resolve("summary.json"));
            assertEquals("completed", after.get("stopped").asText(), m.id());
            assertEquals(12, after.get("steps").asInt(), m.id());
            String log = Files.readString(member.resolve("train.log"));
            if (m.equals(fresh)) {
                assertTrue(after.path("resumed_after_epoch").isMissingNode() || after.get("resumed_after_epoch").isNull(), m.id());
                assertTrue(!log.contains("resumed from"), m.id());
            } else {
                assertEquals(3, after.get("resumed_after_epoch").asInt(), m.id());
                assertEquals(n - 1, after.get("stacked_members").asInt(), m.id());
                assertTrue(log.contains("resumed from the checkpoint of epoch 4 (step 7, 1 batches into the epoch)"), m.id());
                assertTrue(log.contains("interrupted"), m.id() + ": the log of the run before goes on");
            }
            assertMetricsOfAnUninterruptedPlainRun(m, member, tmp);
        }
        // and a third run has nothing left to do
        SweepJob.Result third = job.run(dir, plan.members(), new StackedRunner(), QUIET, () -> null);
        assertEquals(n, third.skipped().size());
        assertTrue(third.outcomes().isEmpty());
    }

    /**
     * A member whose checkpoint holds all its epochs but that has no summary (the sweep stopped
     * between the two: a full disk, a kill) is finished from its checkpoint when the sweep runs
     * again, not trained again from the start (as it was, silently).
     */
    @Test
    void aMemberCheckpointedAtItsLastEpochIsFinishedNotTrainedAgain(@TempDir Path tmp) throws IOException {
        SweepPlan plan = SweepPlan.resolve(Path.of(SweepCommandTest.CONFIG), SETS, List.of("penalty.lambda=1e-3,1e-1"));
        SweepDirectory dir = SweepDirectory.openFor(tmp.resolve("sweep"), plan);
        SweepJob job = new SweepJob(plan, Path.of("").toAbsolutePath());
        assertTrue(!job.run(dir, plan.members(), new StackedRunner(), QUIET, () -> null).anyFailed());
        Member first = plan.members().get(0);
        Path member = dir.memberPath(first);
        List<String> metrics = SweepCommandTest.metricsWithoutSeconds(member);
        JsonNode before = Json.readTree(member.resolve("summary.json"));
        Files.delete(member.resolve("summary.json"));

        SweepJob.Result again = job.run(dir, plan.members(), new StackedRunner(), QUIET, () -> null);
        assertEquals(List.of(first), again.outcomes().stream().map(MemberRunner.Outcome::member).toList());
        JsonNode after = Json.readTree(member.resolve("summary.json"));
        assertEquals("completed", after.get("stopped").asText());
        assertEquals(6, after.get("resumed_after_epoch").asInt());
        assertEquals(12, after.get("steps").asInt());
        for (String k : List.of("train_mse", "val_mse", "penalty", "hessian_fro_mean")) {
            assertEquals(before.get(k).asDouble(), after.get(k).asDouble(), 0, k);
        }
        assertEquals(metrics, SweepCommandTest.metricsWithoutSeconds(member), "metrics.csv as it was");
        String log = Files.readString(member.resolve("train.log"));
        assertTrue(log.contains("resumed from the checkpoint of epoch 6 (step 12): 0 more epochs to run"), log);
        assertEquals(1, log.lines().filter(l -> l.contains("epoch 1:")).count(), "trained once: " + log);
        assertTrue(Files.size(member.resolve("loss.png")) > 0);
    }

    @Test
    void anInterruptedStackedMemberResumesToItsPlainRun(@TempDir Path tmp) throws IOException {
        SweepPlan plan = SweepPlan.resolve(Path.of(SweepCommandTest.CONFIG), SETS,
                List.of("penalty.lambda=1e-3,1e-1", "train.lr=0.01,0.03"));
        Path out = tmp.resolve("sweep");
        SweepDirectory dir = SweepDirectory.openFor(out, plan);
        SweepJob job = new SweepJob(plan, Path.of("").toAbsolutePath());
        // 7 steps: the first batch of epoch 4, so the checkpoint is within an epoch
        SweepJob.Result r = job.run(dir, plan.members(), new StackedRunner(), QUIET, stopAfter(7));
        assertTrue(r.interrupted());
        for (Member m : plan.members()) {
            Path member = dir.memberPath(m);
            JsonNode s = Json.readTree(member.resolve("summary.json"));
            assertEquals("interrupted", s.get("stopped").asText(), m.id());
            assertEquals(4, s.get("stacked_members").asInt(), m.id());
            assertTrue(Files.isRegularFile(member.resolve("checkpoint.safetensors")), m.id());

            CliRunner resume = new CliRunner();
            assertEquals(0, resume.run("train", "--resume", member.toString()), resume.err());
            assertTrue(Files.readString(member.resolve("train.log")).contains("resumed from the checkpoint of epoch 4 (step 7, "
                    + "1 batches into the epoch)"), m.id());
            JsonNode after = Json.readTree(member.resolve("summary.json"));
            assertEquals("completed", after.get("stopped").asText(), m.id());
            assertEquals(3, after.get("resumed_after_epoch").asInt(), m.id());
            assertEquals(12, after.get("steps").asInt(), m.id());

            assertMetricsOfAnUninterruptedPlainRun(m, member, tmp);
        }
    }
}
