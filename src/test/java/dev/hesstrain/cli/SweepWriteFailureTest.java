package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hesstrain.runs.Json;
import dev.hesstrain.sweep.Member;
import dev.hesstrain.sweep.StackedRunner;
import dev.hesstrain.sweep.SweepDirectory;
import dev.hesstrain.sweep.SweepJob;
import dev.hesstrain.sweep.SweepPlan;
import dev.hesstrain.train.TrainJob;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A stacked sweep whose files cannot be written (a full disk, here a member's metrics.csv turned
 * into a directory, so that its atomic replacement fails) ends with one message naming the members'
 * folder, the system's reason and the epochs of the checkpoints kept, not a raw IOException; and
 * the same sweep run again, once the fault is gone, continues from those checkpoints to the metrics
 * of uninterrupted plain runs.
 */
class SweepWriteFailureTest {
    @Test
    void aWriteFailureNamesTheKeptCheckpointsAndRunningTheSweepAgainContinuesThem(@TempDir Path tmp) throws IOException {
        SweepPlan plan = SweepPlan.resolve(Path.of(SweepCommandTest.CONFIG), StackedResumeTest.SETS,
                List.of("penalty.lambda=1e-3,1e-1"));
        SweepDirectory dir = SweepDirectory.openFor(tmp.resolve("sweep"), plan);
        SweepJob job = new SweepJob(plan, Path.of("").toAbsolutePath());
        Member second = plan.members().get(1);
        Path metrics = dir.memberPath(second).resolve("metrics.csv");
        String[] saved = new String[1];
        Supplier<String> fault = new Supplier<>() {
            long polls;

            @Override
            public String get() {
                if (++polls == 5) { // after step 5: the next checkpoint cannot replace the second member's metrics.csv
                    try {
                        saved[0] = Files.readString(metrics);
                        Files.delete(metrics);
                        Files.createDirectory(metrics);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }
                return null;
            }
        };
        TrainJob.WriteFailed e = assertThrows(TrainJob.WriteFailed.class,
                () -> job.run(dir, plan.members(), new StackedRunner(), StackedResumeTest.QUIET, fault));
        Matcher m = Pattern.compile(Pattern.quote("could not write the members' files into "
                + dir.memberPath(second).getParent() + ": Is a directory; their checkpoints (")
                + "(?:epoch (\\d+)|epochs (\\d+)-(\\d+))"
                + Pattern.quote(") are kept (run the same sweep again once there is room: it continues from them)"))
                .matcher(e.getMessage());
        assertTrue(m.matches(), e.getMessage());
        // the first member checkpointed at the failing epoch, the second kept its checkpoint before it
        // (checkpoints are at least a second apart: in this short run, the one at epoch 0 and the last)
        int least = m.group(1) != null ? Integer.parseInt(m.group(1)) : Integer.parseInt(m.group(2));
        int most = m.group(1) != null ? least : Integer.parseInt(m.group(3));
        assertTrue(least < most && least >= 0 && most >= 3 && most <= 6, e.getMessage());
        assertEquals(least, e.kept());
        assertEquals(most, TrainJob.checkpointPosition(dir.memberPath(plan.members().get(0))).epochs());
        assertEquals(least, TrainJob.checkpointPosition(dir.memberPath(second)).epochs());

        // the fault gone, the same sweep again
        Files.delete(metrics);
        Files.writeString(metrics, saved[0]);
        SweepJob.Result again = job.run(dir, plan.members(), new StackedRunner(), StackedResumeTest.QUIET, () -> null);
        assertTrue(!again.interrupted() && !again.anyFailed(), again.outcomes().toString());
        for (Member member : plan.members()) {
            Path path = dir.memberPath(member);
            JsonNode s = Json.readTree(path.resolve("summary.json"));
            assertEquals("completed", s.get("stopped").asText(), member.id());
            assertEquals(12, s.get("steps").asInt(), member.id());
            StackedResumeTest.assertMetricsOfAnUninterruptedPlainRun(member, path, tmp);
        }
    }
}
