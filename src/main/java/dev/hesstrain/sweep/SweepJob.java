package dev.hesstrain.sweep;

import dev.hesstrain.runs.MemberLocks;
import dev.hesstrain.runs.RunDirectory;
import dev.hesstrain.train.Resume;
import dev.hesstrain.train.ResumeException;
import dev.hesstrain.train.TrainJob;
import dev.hesstrain.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
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
 * continues those that stopped with a checkpoint (interrupted) from it, trains the others afresh,
 * group by group through a {@link MemberRunner}, then rebuilds the report from every member
 * directory there is (so the last shard to finish reports them all).
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

    /**
     * The most members of one stacked program. A program's arrays are its members' together: 10,000
     * one-epoch sin2pi members in one program held 16 GB resident before their first step ended
     * (about 1.6 MB a member), while 64 members already run at the engine's speed (docs/sweeps.md,
     * Speed). A larger group trains as consecutive programs of at most this many members.
     */
    static final int MAX_STACKED = 256;

    /** A group cut into programs of at most {@link #MAX_STACKED} members, as even as can be, in grid order. */
    static List<List<Member>> programs(List<Member> group) {
        int n = (group.size() + MAX_STACKED - 1) / MAX_STACKED;
        List<List<Member>> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(group.subList(i * group.size() / n, (i + 1) * group.size() / n));
        }
        return out;
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

    /**
     * The members of {@code members} that still need training in {@code dir}: neither completed
     * nor {@linkplain SweepDirectory#extended extended} by {@code train --resume}.
     */
    public static List<Member> pending(SweepDirectory dir, List<Member> members) {
        return members.stream().filter(m -> !dir.completed(m) && dir.extended(m) == 0).toList();
    }

    /**
     * The members of {@code members} that {@code train --resume} extended beyond the sweep's epochs,
     * each with the warning to show: the sweep keeps them as they are.
     */
    public static Map<Member, String> extended(SweepDirectory dir, List<Member> members) {
        Map<Member, String> out = new LinkedHashMap<>();
        for (Member m : members) {
            int epochs = dir.extended(m);
            if (epochs > 0) {
                out.put(m, "member " + m.id() + " was extended to " + epochs + " epochs (train --resume), where the sweep has "
                        + m.spec().train().epochs() + "; it is kept as it is and reported with its " + epochs + " epochs"
                        + (dir.completed(m) ? "" : "; continue it with hesstrain train --resume " + dir.memberPath(m)));
            }
        }
        return out;
    }

    /**
     * Where member m's earlier run in {@code memberDir} continues, or null when it starts afresh:
     * one with a checkpoint that holds the optimizer's state, as {@code train --resume} would
     * continue it. A checkpoint of all its epochs (a sweep that stopped after the last checkpoint,
     * before the summary: a full disk, a kill) continues with no step left: the member gets its
     * summary and plots from it, and is not trained again. A diverged member starts afresh (from
     * its checkpoint it would take the same steps again), as does one without a checkpoint or with
     * an unreadable one (said in the log).
     */
    static Trainer.Position resumePoint(Member m, Path memberDir) {
        if (!Files.isRegularFile(memberDir.resolve(RunDirectory.CHECKPOINT))
                || !Files.isRegularFile(memberDir.resolve(RunDirectory.SPEC))) {
            return null;
        }
        try {
            Resume.Plan p = Resume.plan(memberDir, m.spec());
            return p.at();
        } catch (ResumeException | IOException e) {
            LOG.info("member {} starts afresh: {}", m.id(), e.getMessage());
            return null;
        }
    }

    public Result run(SweepDirectory dir, List<Member> members, MemberRunner runner, MemberRunner.Progress progress,
            Supplier<String> stop) throws IOException {
        Map<Member, String> kept = extended(dir, members);
        kept.values().forEach(LOG::info); // the command shows them as warnings
        List<Member> todo = pending(dir, members);
        List<Member> skipped = members.stream().filter(m -> !todo.contains(m) && !kept.containsKey(m)).toList();
        if (!skipped.isEmpty()) {
            LOG.info("{} of {} members completed before; skipping them", skipped.size(), members.size());
        }
        // Every member to train is claimed before any trains, with an OS lock held while the sweep
        // lives: a second sweep into the same directory fails at once, while shards, whose members are
        // disjoint, share it. All the claims sit in one file (MemberLocks: one descriptor however many
        // members), and a member directory holds no descriptor while it is not being written.
        Map<Member, RunDirectory> claimed = new LinkedHashMap<>();
        Map<Member, Trainer.Position> resumed = new LinkedHashMap<>();
        List<MemberRunner.Outcome> outcomes = new ArrayList<>();
        MemberLocks locks;
        try {
            locks = MemberLocks.open(dir.path().resolve(SweepDirectory.MEMBERS));
        } catch (IOException e) {
            throw new SweepException(true, e.getMessage(), e);
        }
        try (locks) {
            for (Member m : todo) {
                try {
                    // the lock first: nothing of a directory that another sweep holds is read
                    Path path = dir.memberPath(m);
                    locks.claim(m.index(), path);
                    RunDirectory run = RunDirectory.member(path, locks, Files.isDirectory(path));
                    claimed.put(m, run);
                    Trainer.Position at = resumePoint(m, run.path());
                    if (at == null) {
                        run.clear();
                    } else {
                        resumed.put(m, at);
                    }
                } catch (IOException e) {
                    throw new SweepException(true, "member " + m.id() + ": " + e.getMessage(), e);
                }
            }
            if (!resumed.isEmpty()) {
                LOG.info("{} of {} members continue from their checkpoints", resumed.size(), todo.size());
            }
            // members continue together where they stand together: a structure group splits by position
            Map<String, List<Member>> groups = new LinkedHashMap<>();
            for (Member m : todo) {
                Trainer.Position at = resumed.get(m);
                String key = m.group() + (at == null ? "" : "@" + at.epochs() + "/" + at.batches() + "/" + at.steps());
                groups.computeIfAbsent(key, g -> new ArrayList<>()).add(m);
            }
            for (List<Member> whole : groups.values()) {
                for (List<Member> g : programs(whole)) {
                    // after a stop, a program not started stays pending, as a sequential member does (the
                    // first is not asked: the runner polls the stop once a step, as a signal would be seen)
                    if (!outcomes.isEmpty() && stop.get() != null) {
                        g.forEach(m -> outcomes.add(new MemberRunner.Outcome(m, "interrupted", "not started")));
                        continue;
                    }
                    outcomes.addAll(runner.run(g, g.stream().map(claimed::get).toList(), resumed.containsKey(g.get(0)), baseDir,
                            progress, stop));
                }
            }
        }
        SweepReport report = SweepReport.read(dir.path());
        report.write();
        return new Result(report, skipped, outcomes);
    }
}
