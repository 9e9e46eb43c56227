package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * inspect-hessian's faults through the packaged jar, as {@link LauncherIT} drives it: a signal
 * while the full Hessian streams to disk, and a disk that fills up while the outputs are written.
 */
class InspectFaultsIT {
    /** 8,001 parameters at 4,000 points, one product per pass: the full Hessian takes long enough to interrupt. */
    static final String WIDE = """
            name: wide
            seed: 0
            dtype: float32
            device: cpu
            data: {generator: "sin(x1) * x2", inputs: 2, samples: 4000, validation: 0}
            model:
              layers:
                - {type: linear, units: 2000}
                - {type: tanh}
                - {type: linear, units: 1}
            loss: mse
            """;

    static List<Path> hidden(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(f -> f.getFileName().toString().startsWith("."))
                    .filter(f -> !f.getFileName().toString().equals(".lock")) // the directory's lock stays
                    .toList();
        }
    }

    @Test
    void sigintWhileTheFullHessianStreamsRemovesItsTemporaryFileAndExits130(@TempDir Path tmp) throws Exception {
        // issue 10, 7: an interrupted inspect-hessian printed nothing and left .hessian.npy.tmp-* (up to 2.2 GB)
        for (String signal : List.of("INT", "TERM")) {
            Path spec = tmp.resolve("wide.yaml");
            Files.writeString(spec, WIDE);
            Path out = tmp.resolve("out-" + signal);
            Path log = tmp.resolve("log-" + signal);
            Process p = LauncherIT.start(log, "inspect-hessian", "--config", spec.toString(), "--wrt", "params",
                    "--quantity", "full", "--hvp-batch", "1", "--threads", "1", "--out", out.toString());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (hidden(out).isEmpty()) {
                assertTrue(p.isAlive(), "ended before its temporary file appeared: " + Files.readString(log));
                assertTrue(System.nanoTime() < deadline, "no temporary hessian.npy within 120 s");
                Thread.sleep(50);
            }
            Thread.sleep(500);
            assertTrue(p.isAlive(), "the full Hessian finished before the signal: " + Files.readString(log));
            new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "did not stop after SIG" + signal);
            String text = Files.readString(log);
            assertEquals(130, p.exitValue(), text);
            assertTrue(text.contains("interrupted: stopped full at row") || text.contains("interrupted: stopped full"),
                    text);
            assertTrue(text.contains("partial files were removed"), text);
            assertFalse(text.contains("Exception"), text);
            assertEquals(List.of(), hidden(out), "no temporary files are left");
            assertFalse(Files.exists(out.resolve("hessian.npy")), "no partial matrix under the real name");
            assertFalse(Files.exists(out.resolve("summary.json")));
        }
    }

    @Test
    void aDiskThatFillsUpGivesOneMessageExitOneAndNoTemporaryFiles(@TempDir Path tmp) throws Exception {
        // issue 10, 6: an uncaught NullPointerException from ImageIO's "StreamCloser" thread on a full disk
        Path mount = tmp.resolve("small");
        Files.createDirectories(mount);
        Process m = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mount.toString())
                .redirectErrorStream(true).start();
        String why = new String(m.getInputStream().readAllBytes()).trim();
        if (m.waitFor() != 0) {
            System.out.println("InspectFaultsIT: disk-full test skipped: mounting a tmpfs is not permitted here ("
                    + why + ")");
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "mounting a tmpfs is not permitted: " + why);
        }
        try {
            Path run = tmp.resolve("run");
            Process t = LauncherIT.start(tmp.resolve("log0"), "train", "--config", "configs/sin2pi.yaml", "--set",
                    "train.epochs=3", "--set", "data.samples=40", "--out", run.toString());
            assertTrue(t.waitFor(120, TimeUnit.SECONDS));
            assertEquals(0, t.exitValue(), Files.readString(tmp.resolve("log0")));
            // room for sin2pi's 308 x 308 float32 Hessian (379,584 bytes) but not for its plots as well
            long free = Files.getFileStore(mount).getUsableSpace();
            Files.write(mount.resolve("filler"), new byte[(int) (free - 400_000)]);
            Path out = mount.resolve("out");
            Process p = LauncherIT.start(tmp.resolve("log"), "inspect-hessian", "--run", run.toString(), "--quantity",
                    "full,diag", "--out", out.toString());
            assertTrue(p.waitFor(120, TimeUnit.SECONDS));
            String text = Files.readString(tmp.resolve("log"));
            assertEquals(1, p.exitValue(), text);
            assertTrue(text.contains("error: inspect-hessian could not write its outputs"), text);
            assertTrue(text.contains("No space left on device"), text);
            assertFalse(text.contains("Exception"), text);
            assertFalse(text.contains("\tat "), text);
            assertEquals(List.of(), hidden(out), "no temporary files are left");
        } finally {
            new ProcessBuilder("umount", mount.toString()).start().waitFor();
        }
    }
}
