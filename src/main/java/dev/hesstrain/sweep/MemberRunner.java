package dev.hesstrain.sweep;

import dev.hesstrain.runs.RunDirectory;
import dev.hesstrain.train.EpochMetrics;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Supplier;

/**
 * How the members of one structure group are trained into their run directories. The sequential
 * runner trains them one after another through the ordinary training path ({@code TrainJob}), so
 * each member directory is exactly what {@code hesstrain train} writes for its spec.
 */
public interface MemberRunner {

    /** What the sweep shows while members train (one bar for the whole sweep). */
    interface Progress {
        void memberStarted(Member m);

        void epoch(Member m, EpochMetrics e);

        void memberFinished(Member m, String stopped);
    }

    /** How a member ended: completed, diverged, interrupted or failed (with a message). */
    record Outcome(Member member, String stopped, String message) {}

    /**
     * Trains {@code members} (one structure group, in grid order) into {@code dirs}; polls
     * {@code stop} after every step. A member that diverges or fails stops alone; when {@code stop}
     * turns true every member still training stops, checkpointed, as interrupted. With {@code
     * resume}, every member continues the run in its directory from its checkpoint, as {@code
     * train --resume} does (all of them stand at one position: see {@code SweepJob}).
     */
    List<Outcome> run(List<Member> members, List<RunDirectory> dirs, boolean resume, Path baseDir, Progress progress,
            Supplier<String> stop) throws IOException;
}
