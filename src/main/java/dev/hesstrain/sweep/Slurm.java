package dev.hesstrain.sweep;

import dev.hesstrain.runs.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A sweep as a Slurm job array: {@code sweep.sbatch} runs shard {@code $SLURM_ARRAY_TASK_ID} of
 * {@code $SLURM_ARRAY_TASK_COUNT} in each array task, {@code report.sbatch} merges the shards'
 * members into the report once every task has ended ({@code --dependency=afterany}, so a shard
 * with a diverged member does not hold the report back).
 */
public final class Slurm {
    /**
     * The glibc settings of the {@code hesstrain} launcher script, which a task started by sbatch
     * does not run through: freed memory stays in the process, so a step's arrays do not fault in
     * afresh every step (a stacked sweep's large ops took 5-10 ms instead of 55 us without them,
     * docs/sweeps.md). Values already in the task's environment win, as in the launcher.
     */
    static final String MALLOC = "export MALLOC_MMAP_THRESHOLD_=\"${MALLOC_MMAP_THRESHOLD_:-33554432}\"\n"
            + "export MALLOC_TRIM_THRESHOLD_=\"${MALLOC_TRIM_THRESHOLD_:-17179869184}\"\n";

    public static final String SWEEP_SCRIPT = "sweep.sbatch";
    public static final String REPORT_SCRIPT = "report.sbatch";

    private Slurm() {}

    /** Single-quotes a word for bash. */
    public static String quote(String s) {
        if (s.matches("[A-Za-z0-9_./=:,+@%^-]+")) {
            return s;
        }
        return "'" + s.replace("'", "'\"'\"'") + "'";
    }

    /**
     * Writes both scripts into the sweep directory.
     *
     * @param launcher the command that starts hesstrain on the nodes (such as {@code java -jar /path/hesstrain.jar})
     * @param sweepArgs the sweep's own arguments (--config, --set, --grid, --threads), without --out and --shard
     */
    public static void write(SweepDirectory dir, String name, int shards, List<String> launcher, List<String> sweepArgs,
            Path workDir, List<String> sbatchOptions) throws IOException {
        String out = dir.path().toAbsolutePath().toString();
        StringBuilder s = new StringBuilder("#!/bin/bash\n");
        s.append("# hesstrain sweep ").append(name).append(": ").append(shards).append(" shards as a Slurm job array.\n");
        s.append("# Submit: sbatch ").append(quote(out + "/" + SWEEP_SCRIPT)).append(", then the report after it:\n");
        s.append("#   sbatch --dependency=afterany:<array job id> ").append(quote(out + "/" + REPORT_SCRIPT)).append('\n');
        s.append("#SBATCH --job-name=").append(quote("hesstrain-" + name)).append('\n');
        s.append("#SBATCH --array=0-").append(shards - 1).append('\n');
        s.append("#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n");
        s.append("#SBATCH --output=").append(quote(out + "/slurm-%A_%a.out")).append('\n');
        for (String o : sbatchOptions) {
            s.append("#SBATCH ").append(o).append('\n');
        }
        s.append("set -euo pipefail\n");
        s.append(MALLOC);
        s.append("cd ").append(quote(workDir.toAbsolutePath().toString())).append('\n');
        List<String> cmd = new ArrayList<>(launcher);
        cmd.add("sweep");
        cmd.addAll(sweepArgs);
        cmd.add("--out");
        cmd.add(out);
        StringBuilder line = new StringBuilder("exec");
        for (String c : cmd) {
            line.append(' ').append(quote(c));
        }
        line.append(" --shard \"$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT\"\n");
        s.append(line);
        AtomicFiles.writeString(dir.file(SWEEP_SCRIPT), s.toString());
        dir.file(SWEEP_SCRIPT).toFile().setExecutable(true);

        StringBuilder r = new StringBuilder("#!/bin/bash\n");
        r.append("# hesstrain sweep ").append(name).append(": the merged report, after every array task has ended.\n");
        r.append("#SBATCH --job-name=").append(quote("hesstrain-" + name + "-report")).append('\n');
        r.append("#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n");
        r.append("#SBATCH --output=").append(quote(out + "/slurm-report-%j.out")).append('\n');
        for (String o : sbatchOptions) {
            r.append("#SBATCH ").append(o).append('\n');
        }
        r.append("set -euo pipefail\n");
        r.append(MALLOC);
        r.append("cd ").append(quote(workDir.toAbsolutePath().toString())).append('\n');
        StringBuilder rl = new StringBuilder("exec");
        for (String c : launcher) {
            rl.append(' ').append(quote(c));
        }
        rl.append(" sweep --report ").append(quote(out)).append('\n');
        r.append(rl);
        AtomicFiles.writeString(dir.file(REPORT_SCRIPT), r.toString());
        dir.file(REPORT_SCRIPT).toFile().setExecutable(true);
    }

    /** Submits both scripts with sbatch; returns the array job's id and the report job's id. */
    public static String[] submit(SweepDirectory dir) throws IOException, InterruptedException {
        String array = sbatch(List.of("sbatch", "--parsable", dir.file(SWEEP_SCRIPT).toAbsolutePath().toString()));
        String report = sbatch(List.of("sbatch", "--parsable", "--dependency=afterany:" + array,
                dir.file(REPORT_SCRIPT).toAbsolutePath().toString()));
        return new String[] {array, report};
    }

    private static String sbatch(List<String> cmd) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new SweepException(false, "cannot run sbatch (is Slurm installed here?): " + e.getMessage(), e);
        }
        String text;
        try (InputStream in = p.getInputStream()) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
        }
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroy();
            throw new SweepException(false, "sbatch did not answer within 120 s");
        }
        if (p.exitValue() != 0) {
            throw new SweepException(false, String.join(" ", cmd) + " failed (exit " + p.exitValue() + "): " + text);
        }
        String id = text.lines().reduce((a, b) -> b).orElse("").strip();
        int semi = id.indexOf(';'); // --parsable: "id" or "id;cluster"
        return semi < 0 ? id : id.substring(0, semi);
    }
}
