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
        // Every member to train is claimed before any trains, as train claims its run directory (an OS
        // lock held while the sweep lives): a second sweep into the same directory fails at once,
        // while shards, whose members are disjoint, share it.
        Map<Member, RunDirectory> claimed = new LinkedHashMap<>();
        List<MemberRunner.Outcome> outcomes = new ArrayList<>();
        try {
            for (Member m : todo) {
                try {
                    claimed.put(m, RunDirectory.claim(dir.memberPath(m), RunDirectory.Mode.OVERWRITE));
                } catch (IOException e) {
                    throw new SweepException(true, "member " + m.id() + ": " + e.getMessage(), e);
                }
            }
            Map<String, List<Member>> groups = new LinkedHashMap<>();
            for (Member m : todo) {
                groups.computeIfAbsent(m.group(), g -> new ArrayList<>()).add(m);
            }
            for (List<Member> g : groups.values()) {
                outcomes.addAll(runner.run(g, g.stream().map(claimed::get).toList(), baseDir, progress, stop));
            }
        } finally {
            for (RunDirectory d : claimed.values()) {
                d.close();
            }
        }
        SweepReport report = SweepReport.read(dir.path());
        report.write();
        return new Result(report, skipped, outcomes);
    }
}
