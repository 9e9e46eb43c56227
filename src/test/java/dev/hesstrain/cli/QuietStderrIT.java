package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's stderr filter (issue 10, friction: native noise). PyTorch's NNPACK line (CPUs
 * without AVX2) and its create-graph note are dropped; everything else, hesstrain's warnings and
 * partial progress lines included, passes.
 */
class QuietStderrIT {
    static final String NNPACK = "[W1201 22:52:05.414904867 NNPACK.cpp:57] Could not initialize NNPACK! Reason: "
            + "Unsupported hardware.";
    static final String CREATE_GRAPH = "[W1201 22:52:05.414904867 engine.cpp:1273] Warning: Using backward() with "
            + "create_graph=True will create a reference cycle between the parameter and its gradient which can cause a "
            + "memory leak. (function operator())";

    /** The launcher's pattern of known noise, read from the launcher itself. */
    static String noise() throws IOException {
        for (String line : Files.readAllLines(Path.of("hesstrain"))) {
            if (line.startsWith("noise='")) {
                return line.substring("noise='".length(), line.length() - 1);
            }
        }
        throw new AssertionError("the launcher has no noise= line");
    }

    /** Runs a command, feeding it {@code input}; returns {exit code, stdout, stderr}. */
    static String[] run(Map<String, String> env, String input, String... cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        java.util.concurrent.CompletableFuture<String> out = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8); // EOF: the filter is done too
        assertTrue(p.waitFor(300, TimeUnit.SECONDS));
        return new String[] {Integer.toString(p.exitValue()), out.get(), err};
    }

    @Test
    void theFilterDropsExactlyTheKnownLinesAndPassesPartialLinesAtOnce() throws Exception {
        String in = "warning: a hesstrain warning\n" + NNPACK + "\n" + CREATE_GRAPH + "\n"
                + "[W1201 22:52:05.4 other.cpp:1] Warning: some other native warning\n" + NNPACK + "\n"
                + "\repoch 3/10 [====>     ]";
        String[] r = run(Map.of(), in, "perl", "src/launcher/stderr-filter.pl", noise());
        assertEquals("0", r[0], r[2]);
        assertEquals("warning: a hesstrain warning\n"
                + "[W1201 22:52:05.4 other.cpp:1] Warning: some other native warning\n"
                + "\repoch 3/10 [====>     ]", r[1]);
    }

    @Test
    void theLauncherHidesTheCreateGraphNoteButNotHesstrainsWarnings(@TempDir Path tmp) throws Exception {
        List<String> inspect = new ArrayList<>(List.of("./hesstrain", "inspect-hessian", "--config",
                "configs/sin2pi.yaml", "--wrt", "params", "--quantity", "trace", "--probes", "4"));
        String[] raw = run(Map.of("HESSTRAIN_RAW_STDERR", "1"), "", concat(inspect, "--out", tmp.resolve("a").toString()));
        assertEquals("0", raw[0], raw[2]);
        assertTrue(raw[2].contains("Warning: Using backward() with create_graph=True"), "the note is real here: " + raw[2]);
        String[] quiet = run(Map.of(), "", concat(inspect, "--out", tmp.resolve("b").toString()));
        assertEquals("0", quiet[0], quiet[2]);
        assertFalse(quiet[2].contains("create_graph"), quiet[2]);
        assertTrue(quiet[2].contains("inspect-hessian sin2pi"), "hesstrain's own lines pass: " + quiet[2]);

        String[] relu = run(Map.of(), "", "./hesstrain", "train", "--config", "configs/linear-relu-mse.yaml", "--set",
                "penalty.lambda=0.1", "--set", "train.epochs=2", "--out", tmp.resolve("c").toString());
        assertEquals("0", relu[0], relu[2]);
        assertTrue(relu[2].contains("warning: the model's activations are piecewise linear (relu)"), relu[2]);
    }

    static String[] concat(List<String> a, String... more) {
        List<String> all = new ArrayList<>(a);
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }
}
