package dev.hesstrain.cli;

import dev.hesstrain.setup.Setup;
import dev.hesstrain.runs.TensorBoard;
import dev.hesstrain.spec.SpecException;
import dev.hesstrain.spec.SpecLoader;
import dev.hesstrain.sweep.Member;
import dev.hesstrain.sweep.MemberRunner;
import dev.hesstrain.sweep.SequentialRunner;
import dev.hesstrain.sweep.StackedRunner;
import dev.hesstrain.sweep.Shards;
import dev.hesstrain.sweep.Slurm;
import dev.hesstrain.sweep.SweepDirectory;
import dev.hesstrain.sweep.SweepException;
import dev.hesstrain.sweep.SweepJob;
import dev.hesstrain.sweep.SweepPlan;
import dev.hesstrain.sweep.SweepReport;
import dev.hesstrain.train.EpochMetrics;
import dev.hesstrain.train.TrainJob;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/** {@code hesstrain sweep}: a grid of members of one spec, their run directories and the report. */
@Command(
        name = "sweep",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        header = "Train a grid of members of one spec, stacked where they share structure, and report them.",
        description = "Train every member of a grid over spec fields (--grid, or the spec's sweep: section) into "
                + "SWEEPS/<name>-<timestamp>/ (or --out): one run directory per member under members/, sweep.csv, "
                + "sweep.json, val_loss_vs_lambda.png, hessian_vs_lambda.png, tradeoff.png, and a table ranked by "
                + "validation loss (training loss without a validation set). Again into the same --out, it skips the members that completed. "
                + "Grid values: V1,V2,... (YAML scalars), integer ranges a..b, logspace(low,high,n), linspace(low,high,n).",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:every member of this invocation completed (or the report/scripts were written)",
            "1:a member diverged or failed (the others went on; the report is written)",
            "2:bad usage, spec, grid or data; or --out holds another sweep",
            "130:interrupted (Ctrl-C); each member's last checkpoint is kept"
        })
public final class SweepCommand implements Callable<Integer> {
    @picocli.CommandLine.Spec
    CommandSpec command;

    @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "The spec, YAML or JSON.")
    Path config;

    @Option(names = "--set", paramLabel = "PATH=VALUE", description = "Override a spec field for every member. Repeatable.")
    List<String> overrides = new ArrayList<>();

    @Option(names = {"-g", "--grid"}, paramLabel = "PATH=V1,V2,...",
            description = "An axis of the grid over a scalar spec field, e.g. --grid penalty.lambda=0,logspace(1e-5,1e-1,5) "
                    + "--grid seed=0..4. Repeatable; replaces the sweep: section's axis of the same path.")
    List<String> grids = new ArrayList<>();

    @Option(names = {"-o", "--out"}, paramLabel = "DIR", description = "The sweep directory (default: SWEEPS/<name>-<timestamp>).")
    Path out;

    @Option(names = "--sweeps", paramLabel = "SWEEPS", defaultValue = "sweeps",
            description = "Where new sweep directories go (default: ${DEFAULT-VALUE}).")
    Path sweepsRoot;

    @Mixin
    ThreadsOption threadsOption;

    @Option(names = "--shard", paramLabel = "I/N",
            description = "Run only shard I of N (0 <= I < N; needs --out). Under Slurm: $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT; "
                    + "a Kubernetes Indexed Job: $JOB_COMPLETION_INDEX/N.")
    String shard;

    @Option(names = "--report", paramLabel = "DIR", description = "Only rebuild the report of the sweep in DIR from the members that finished (merges shards).")
    Path report;

    @Option(names = "--slurm", description = "Write DIR/sweep.sbatch (a job array of --shards tasks) and DIR/report.sbatch instead of training.")
    boolean slurm;

    @Option(names = "--shards", paramLabel = "N", defaultValue = "1", description = "With --slurm: the number of array tasks (default: ${DEFAULT-VALUE}).")
    int shards;

    @Option(names = "--submit", description = "With --slurm: submit both scripts with sbatch and print the job ids.")
    boolean submit;

    @Option(names = "--sbatch", paramLabel = "OPTION", description = "With --slurm: an extra #SBATCH line, e.g. --sbatch=--partition=cpu. Repeatable.")
    List<String> sbatchOptions = new ArrayList<>();

    @Option(names = "--sequential",
            description = "Train the members one after another through the single-run path, not each structure group as one stacked program.")
    boolean sequential;

    @Option(names = "--no-tensorboard",
            description = "Write no TensorBoard event files: neither each member's scalars nor the sweep's HParams experiment.")
    boolean noTensorBoard;

    @Option(names = "--launcher", paramLabel = "COMMAND",
            description = "With --slurm: how the nodes start hesstrain (default: this JVM and jar).")
    String launcher;

    @Override
    public Integer call() throws IOException, InterruptedException {
        PrintWriter stdout = command.commandLine().getOut();
        PrintWriter err = command.commandLine().getErr();
        try {
            if (report != null) {
                if (config != null || !grids.isEmpty() || shard != null || slurm) {
                    throw usage("--report DIR takes no --config, --grid, --shard or --slurm");
                }
                SweepDirectory.open(report);
                SweepReport r = SweepReport.read(report);
                r.write();
                printReport(stdout, report, r);
                return ExitCodes.OK;
            }
            return sweep(stdout, err);
        } catch (SweepException e) {
            throw new UserException(e.usage() ? ExitCodes.USAGE : ExitCodes.FAILED, e.getMessage(), e);
        }
    }

    private int sweep(PrintWriter stdout, PrintWriter err) throws IOException, InterruptedException {
        if (config == null) {
            throw usage("give --config FILE (or --report DIR)");
        }
        int cores = Runtime.getRuntime().availableProcessors();
        int busy = threadsOption.value() == null ? busyCores() : 0;
        int threads = threadsOption.orElse(idleCores(cores, busy));
        if (!slurm && (submit || shards != 1 || !sbatchOptions.isEmpty() || launcher != null)) {
            throw usage("--shards, --submit, --sbatch and --launcher go with --slurm");
        }
        if (slurm && shard != null) {
            throw usage("--slurm writes a job array of --shards tasks; --shard is for one task");
        }
        if (slurm && shards < 1) {
            throw usage("--shards must be at least 1, found " + shards);
        }
        Shards.Shard part;
        try {
            part = shard == null ? new Shards.Shard(0, 1) : Shards.Shard.parse(shard);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        if (part.count() > 1 && out == null) {
            throw usage("--shard needs --out DIR: every shard writes into the same sweep directory");
        }
        SweepPlan plan = SweepPlan.resolve(config, overrides, grids);
        if (slurm && shards > plan.members().size()) {
            throw usage("--shards " + shards + " is more than the sweep's " + plan.members().size() + " members");
        }
        SweepJob job = new SweepJob(plan, Path.of("").toAbsolutePath());
        List<Member> mine = job.shard(part.index(), part.count());
        Setup.threads(threads);
        try {
            if (!slurm) {
                job.preflight(mine); // bad data or shapes end here, before anything is written
            } else {
                job.preflight(plan.members().subList(0, 1));
            }
        } catch (SpecException e) {
            throw SpecLoader.byOverride(e, overrides); // an error in a field a --set gave names that --set
        }
        Path dirPath = SweepDirectory.choose(sweepsRoot, plan.base().name(), out);
        SweepDirectory dir = SweepDirectory.openFor(dirPath, plan);
        long groups = plan.members().stream().map(Member::group).distinct().count();
        if (slurm) {
            return writeSlurm(stdout, dir, plan);
        }
        List<Member> todo = SweepJob.pending(dir, mine);
        Map<Member, String> extended = SweepJob.extended(dir, mine);
        extended.values().forEach(w -> err.println("warning: " + w));
        long kept = extended.size();
        err.printf(Locale.ROOT, "hesstrain sweep %s: %d members in %d structure group(s)%s; %d to train, %d completed before%s; "
                + "%d thread%s%s%n", plan.base().name(), plan.members().size(), groups,
                part.count() > 1 ? ", shard " + part + " holds " + mine.size() : "", todo.size(), mine.size() - todo.size() - kept,
                kept == 0 ? "" : ", " + kept + " extended by train --resume (kept as they are)",
                threads, threads == 1 ? "" : "s", threadsOption.value() == null && threads < cores
                        ? String.format(Locale.ROOT, " (%d of %d cores are busy with other work; --threads N chooses)",
                                cores - threads, cores)
                        : "");
        err.printf("sweep directory: %s%n", dir.path());
        err.flush();
        java.util.concurrent.atomic.AtomicReference<String> stop = Interrupts.install();
        long totalEpochs = todo.stream().mapToLong(m -> m.spec().train().epochs()).sum();
        SweepJob.Result result;
        try (Bar bar = new Bar(err, System.console() != null, totalEpochs, todo.size())) {
            TensorBoard.experiment(dir.path(), !noTensorBoard && !todo.isEmpty(),
                    plan.members().stream().map(Member::values).toList(), tensorBoardMetrics(plan.base()));
            result = job.run(dir, mine, sequential ? new SequentialRunner(!noTensorBoard) : new StackedRunner(!noTensorBoard),
                    bar, stop::get);
        } catch (TrainJob.WriteFailed e) { // a full disk: what could not be written, what is kept
            throw new UserException(ExitCodes.FAILED, e.getMessage(), e);
        }
        printReport(stdout, dir.path(), result.report());
        if (result.interrupted()) {
            return ExitCodes.INTERRUPTED;
        }
        if (result.anyFailed()) {
            for (MemberRunner.Outcome o : result.outcomes()) {
                if (o.stopped().equals("diverged") || o.stopped().equals("failed")) {
                    err.printf("member %s %s%s%n", o.member().id(), o.stopped(), o.message() == null ? "" : ": " + o.message());
                }
            }
            err.flush();
            return ExitCodes.FAILED;
        }
        return ExitCodes.OK;
    }

    /**
     * The sweep's default thread count: the cores that other work leaves idle, {@code cores} less
     * {@code busy} (at least 1; every core when {@code busy} is unknown, below 0). A stacked
     * program's arrays are R times one model's, and on an idle 2-core machine two threads took a
     * 64-member sin2pi step from 0.69 to 0.51 ms per member-step (16 members: 0.80 to 0.59-0.70).
     * But PyTorch's OpenMP threads wait for each other by spinning, and when another process holds
     * a core each of a step's small ops waits for a descheduled thread: 16 members took 2.98 ms per
     * member-step on two threads against 0.76 on one with other work on the machine (idle:
     * 0.55-0.83 against 0.78-0.97), and 4 digits members 12-42 against 1.2-1.9 ms beside one busy
     * loop. OMP_WAIT_POLICY=PASSIVE avoids that but doubles the idle machine's step (1.27-1.63 ms),
     * so the threads follow what is free when the sweep starts.
     */
    static int idleCores(int cores, int busy) {
        if (busy < 0) {
            return cores;
        }
        return Math.max(1, Math.min(cores, cores - busy));
    }

    /**
     * How many cores other work keeps busy now: the fewest runnable tasks but this thread in five
     * readings of /proc/loadavg 20 ms apart (a task that stays runnable shows in all of them, one
     * that ran for a moment not; the load averages would count this sweep's own last minute), or -1
     * where there is no /proc/loadavg.
     */
    static int busyCores() {
        int fewest = Integer.MAX_VALUE;
        try {
            for (int i = 0; i < 5; i++) {
                if (i > 0) {
                    Thread.sleep(20);
                }
                String[] f = java.nio.file.Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
                int running = Integer.parseInt(f[3].substring(0, f[3].indexOf('/')));
                fewest = Math.min(fewest, running - 1);
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
        return Math.max(0, fewest);
    }

    private int writeSlurm(PrintWriter stdout, SweepDirectory dir, SweepPlan plan) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("--config", config.toString()));
        for (String s : overrides) {
            args.add("--set");
            args.add(s);
        }
        for (String g : grids) {
            args.add("--grid");
            args.add(g);
        }
        if (sequential) {
            args.add("--sequential");
        }
        if (noTensorBoard) {
            args.add("--no-tensorboard");
        }
        args.add("--threads");
        args.add(Integer.toString(threadsOption.orElse(1))); // a task has one CPU (--cpus-per-task=1)
        Slurm.write(dir, plan.base().name(), shards, launcher(), args, Path.of("").toAbsolutePath(), sbatchOptions);
        stdout.printf("wrote %s and %s (%d array tasks over %d members)%n", dir.file(Slurm.SWEEP_SCRIPT),
                dir.file(Slurm.REPORT_SCRIPT), shards, plan.members().size());
        if (submit) {
            String[] ids = Slurm.submit(dir);
            stdout.printf("submitted job array %s and report job %s (after it)%n", ids[0], ids[1]);
            stdout.printf("array_job_id %s%nreport_job_id %s%n", ids[0], ids[1]);
        } else {
            stdout.printf("submit with: id=$(sbatch --parsable %s) && sbatch --dependency=afterany:$id %s%n",
                    Slurm.quote(dir.file(Slurm.SWEEP_SCRIPT).toString()), Slurm.quote(dir.file(Slurm.REPORT_SCRIPT).toString()));
        }
        stdout.flush();
        return ExitCodes.OK;
    }

    /**
     * This JVM with its own options (the launcher script's collector, compiler and heap flags, or
     * whatever HESSTRAIN_JAVA_OPTS gave it) and jar; or --launcher split at spaces.
     */
    private List<String> launcher() {
        if (launcher != null) {
            return List.of(launcher.strip().split("\\s+"));
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java));
        List<String> own = ManagementFactory.getRuntimeMXBean().getInputArguments();
        cmd.addAll(own);
        if (own.stream().noneMatch(a -> a.startsWith("-Dai.djl.offline="))) {
            cmd.add("-Dai.djl.offline=true");
        }
        try {
            Path self = Path.of(SweepCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isRegularFile(self) && self.toString().endsWith(".jar")) {
                cmd.addAll(List.of("-jar", self.toAbsolutePath().toString()));
                return cmd;
            }
        } catch (java.net.URISyntaxException | SecurityException | NullPointerException e) {
            // below
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.hesstrain.Main"));
        return cmd;
    }

    private static void printReport(PrintWriter out, Path dir, SweepReport r) {
        out.println();
        out.println(r.table().stripTrailing());
        out.println();
        r.seedSpread().forEach(out::println);
        StringBuilder counts = new StringBuilder();
        for (Map.Entry<String, Integer> e : r.counts().entrySet()) {
            counts.append(counts.length() == 0 ? "" : ", ").append(e.getValue()).append(' ').append(e.getKey());
        }
        out.printf("sweep %s: %d members: %s%n", dir, r.rows().size(), counts);
        out.flush();
    }

    private UserException usage(String message) {
        return new UserException(ExitCodes.USAGE, message);
    }

    /**
     * One progress bar (or about twenty plain lines) for the whole sweep, counted in member-epochs.
     * A member counts as done once it has run its last epoch (a stacked program reports its members
     * finished only after its last step), or when it stops; {@code val} is left out of a line whose
     * member has no validation loss (no validation set, or an epoch without evaluation).
     */
    static final class Bar implements MemberRunner.Progress, AutoCloseable {
        private final PrintWriter err;
        private final long total;
        private final int members;
        private final ProgressBar bar;
        private final long every;
        private final java.util.Map<Integer, Integer> epochs = new java.util.HashMap<>();
        private final java.util.Set<Integer> finished = new java.util.HashSet<>();
        private long done;

        Bar(PrintWriter err, boolean terminal, long totalEpochs, int members) {
            this.err = err;
            this.total = Math.max(1, totalEpochs);
            this.members = members;
            this.bar = terminal && totalEpochs > 0
                    ? new ProgressBarBuilder().setTaskName("sweep").setInitialMax(total).setStyle(ProgressBarStyle.ASCII)
                            .setUpdateIntervalMillis(200).setMaxRenderedLength(110).build()
                    : null;
            this.every = Math.max(1, total / 20);
        }

        @Override
        public void memberStarted(Member m) {
            epochs.put(m.index(), 0);
        }

        private void advance(Member m, int epoch) {
            Integer before = epochs.put(m.index(), epoch);
            done += epoch - (before == null ? 0 : before);
            if (epoch >= m.spec().train().epochs()) {
                finished.add(m.index());
            }
        }

        @Override
        public void epoch(Member m, EpochMetrics e) {
            long before = done;
            advance(m, e.epoch());
            if (bar != null) {
                bar.stepTo(done);
                bar.setExtraMessage(finished.size() + "/" + members + " members done");
            } else if (before / every != done / every || done == total) {
                err.println(line(done, total, finished.size(), members, m.id(), e));
                err.flush();
            }
        }

        /** A plain progress line. */
        static String line(long done, long total, int finished, int members, String id, EpochMetrics e) {
            return String.format(Locale.ROOT, "sweep %d/%d member-epochs (%.0f%%)  %d/%d members done  %s epoch %d  loss %.6g%s",
                    done, total, 100.0 * done / total, finished, members, id, e.epoch(), e.loss(),
                    Double.isNaN(e.valLoss()) ? "" : String.format(Locale.ROOT, "  val %.6g", e.valLoss()));
        }

        @Override
        public void memberFinished(Member m, String stopped) {
            advance(m, m.spec().train().epochs());
            finished.add(m.index());
            if (bar != null) {
                bar.stepTo(done);
                bar.setExtraMessage(finished.size() + "/" + members + " members done");
            }
            if (!stopped.equals("completed")) {
                err.printf("member %s: %s%n", m.id(), stopped);
                err.flush();
            }
        }

        @Override
        public void close() {
            if (bar != null) {
                bar.close();
            }
        }
    }

    /** The metrics of the HParams experiment: metrics.csv's columns but the epoch and the seconds. */
    static List<String> tensorBoardMetrics(dev.hesstrain.spec.Spec spec) {
        return TrainJob.metricsColumns(spec).stream()
                .filter(c -> !c.equals("epoch") && !c.equals("seconds")).toList();
    }
}
