package dev.hesstrain.sweep;

import dev.hesstrain.runs.RunDirectory;
import dev.hesstrain.train.TrainJob;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Runs a sweep (or one shard of it) into its directory: skips members that completed before,
 * trains the others group by group through a {@link MemberRunner}, then rebuilds the report from
 * every member directory there is (so the last shard to finish reports them all).
 */
public final class SweepJob {
    private static final Logger LOG = LogManager.getLogger(SweepJob.class);

    /** What one invocation did. */
    public record Result(SweepReport report, List<Member> skipped, List<MemberRunner.Outcome> outcomes) {
        public boolean interrupted() {
            return outcomes.stream().anyMatch(o -> o.stopped().equals("interrupted"));
        }

        public boolean anyFailed() {
            return outcomes.stream().anyMatch(o -> o.stopped().equals("diverged") || o.stopped().equals("failed"));
        }
    }

    private final SweepPlan plan;
    private final Path baseDir;

    public SweepJob(SweepPlan plan, Path baseDir) {
        this.plan = plan;
        this.baseDir = baseDir;
    }

    /** The members of shard {@code index} of {@code count} (all of them for 0/1). */
    public List<Member> shard(int index, int count) {
        return count <= 1 ? plan.members() : Shards.split(plan.members(), count).get(index);
    }

    /** Checks every member's data, device and shapes before anything is written (spec errors: exit 2). */
    public void preflight(List<Member> members) {
        for (Member m : members) {
            new TrainJob(m.spec(), m.source(), baseDir).preflight();
        }
    }

    /** The members of {@code members} that still need training in {@code dir}. */
    public static List<Member> pending(SweepDirectory dir, List<Member> members) {
        return members.stream().filter(m -> !dir.completed(m)).toList();
    }

    public Result run(SweepDirectory dir, List<Member> members, MemberRunner runner, MemberRunner.Progress progress,
            Supplier<String> stop) throws IOException {
        List<Member> todo = pending(dir, members);
        List<Member> skipped = members.stream().filter(m -> !todo.contains(m)).toList();
        if (!skipped.isEmpty()) {
            LOG.info("{} of {} members completed before; skipping them", skipped.size(), members.size());
        }
        Map<String, List<Member>> groups = new LinkedHashMap<>();
        for (Member m : todo) {
            groups.computeIfAbsent(m.group(), g -> new ArrayList<>()).add(m);
        }
        List<MemberRunner.Outcome> outcomes = new ArrayList<>();
        for (List<Member> g : groups.values()) {
            List<RunDirectory> dirs = new ArrayList<>();
            for (Member m : g) {
                try {
                    dirs.add(RunDirectory.create(null, m.spec().name(), dir.memberPath(m)));
                } catch (IOException e) {
                    throw new SweepException(true, e.getMessage(), e);
                }
            }
            outcomes.addAll(runner.run(g, dirs, baseDir, progress, stop));
        }
        SweepReport report = SweepReport.read(dir.path());
        report.write();
        return new Result(report, skipped, outcomes);
    }
}
