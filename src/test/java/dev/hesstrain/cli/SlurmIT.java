package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 2-shard sweep through a real Slurm cluster: {@code --slurm --shards 2 --submit} submits the job
 * array and the dependent report job; both shards train their members into one directory and the
 * report job merges them. Without a reachable cluster ({@code sinfo} answering; {@code .ci/run}
 * starts a one-node one, see scripts/slurm-local.sh) the test is skipped with the reason, except
 * under CI=true, where it fails.
 */
class SlurmIT {
    static String run(List<String> cmd, long seconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " did not finish in " + seconds + " s");
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " exited with " + p.exitValue() + ": " + text.strip());
        }
        return text;
    }

    /** Null when a cluster answers, else why not. */
    static String unreachable() {
        try {
            String states = run(List.of("sinfo", "-h", "-o", "%t"), 20).strip();
            if (!states.matches("(?s).*\\b(idle|mix|alloc)\\b.*")) {
                return "sinfo shows no usable node (states: '" + states + "')";
            }
            return null;
        } catch (IOException | InterruptedException e) {
            return e.getMessage();
        }
    }

    @Test
    void aTwoShardSweepRunsAsAJobArrayAndTheReportJobMergesIt(@TempDir Path tmp) throws Exception {
        String why = unreachable();
        if (why != null) {
            String msg = "no Slurm cluster reachable (" + why + "); start one with scripts/slurm-local.sh start DIR "
                    + "and export SLURM_CONF, or run .ci/run";
            if ("true".equals(System.getenv("CI"))) {
                fail("CI=true: " + msg);
            }
            System.out.println("SlurmIT skipped: " + msg);
            Assumptions.abort(msg);
        }
        Path out = tmp.resolve("sweep");
        List<String> cmd = new ArrayList<>(List.of("java", "-jar", LauncherIT.JAR.toAbsolutePath().toString(), "sweep",
                "--config", "configs/sin2pi.yaml", "--set", "data.samples=80", "--set", "train.epochs=5",
                "--grid", "penalty.lambda=0,1e-2", "--grid", "seed=0..1", "--out", out.toString(),
                "--slurm", "--shards", "2", "--submit"));
        String text = run(cmd, 120);
        Matcher a = Pattern.compile("array_job_id (\\d+)").matcher(text);
        Matcher r = Pattern.compile("report_job_id (\\d+)").matcher(text);
        assertTrue(a.find() && r.find(), text);
        String jobs = a.group(1) + "," + r.group(1);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(400);
        while (!run(List.of("squeue", "-h", "-j", jobs, "-o", "%i %t"), 30).isBlank()) {
            assertTrue(System.nanoTime() < deadline, "the jobs did not finish within 400 s: "
                    + run(List.of("squeue", "-j", jobs), 30));
            Thread.sleep(1000);
        }
        for (int task = 0; task < 2; task++) {
            Path log = out.resolve("slurm-" + a.group(1) + "_" + task + ".out");
            assertTrue(Files.isRegularFile(log), "no log of array task " + task);
            assertTrue(Files.readString(log).contains("shard " + task + "/2 holds 2"), Files.readString(log));
        }
        Path reportLog = out.resolve("slurm-report-" + r.group(1) + ".out");
        String report = Files.readString(reportLog);
        assertTrue(report.contains("4 members: 4 completed"), report);
        List<String> csv = Files.readAllLines(out.resolve("sweep.csv"));
        assertEquals(5, csv.size(), String.join("\n", csv));
        for (String row : csv.subList(1, 5)) {
            assertTrue(row.contains(",completed,"), row);
        }
        assertTrue(Files.isRegularFile(out.resolve("tradeoff.png")));
    }
}
