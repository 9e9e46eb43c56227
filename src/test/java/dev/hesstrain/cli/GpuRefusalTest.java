package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code device: gpu} on a machine where PyTorch sees no GPU: exit 2 and one message naming docs/gpu.md. */
class GpuRefusalTest {
    static final String CONFIG = "configs/sin2pi.yaml";

    @Test
    void everyCommandRefusesWithOneMessageNamingTheGpuPage(@TempDir Path tmp) {
        Assumptions.assumeTrue(Engine.getInstance().getGpuCount() == 0, "this machine has a GPU");
        List<String[]> commands = List.of(
                new String[] {"train", "--config", CONFIG, "--set", "device=gpu", "--out", tmp.resolve("t").toString()},
                new String[] {"sweep", "--config", CONFIG, "--set", "device=gpu", "--grid", "seed=1,2", "--out",
                    tmp.resolve("s").toString()},
                new String[] {"inspect-hessian", "--config", CONFIG, "--set", "device=gpu", "--set", "data.samples=10",
                    "--out", tmp.resolve("i").toString()});
        for (String[] args : commands) {
            CliRunner cli = new CliRunner();
            assertEquals(2, cli.run(args), args[0] + ": " + cli.err());
            List<String> lines = cli.err().strip().lines().filter(l -> !l.isBlank()).toList();
            assertEquals(1, lines.stream().filter(l -> l.startsWith("error:")).count(), args[0] + ": " + cli.err());
            String error = lines.stream().filter(l -> l.startsWith("error:")).findFirst().orElseThrow();
            assertTrue(error.contains("device: is gpu but PyTorch sees no GPU on this machine")
                    && error.contains("docs/gpu.md"), args[0] + ": " + cli.err());
            assertFalse(cli.err().contains("Exception"), args[0] + ": " + cli.err());
            // the field came from a --set: the message names it, as for any error found after loading
            assertTrue(error.startsWith("error: " + CONFIG + " (--set device=gpu): device:"), args[0] + ": " + error);
            assertTrue(Files.exists(Path.of("docs/gpu.md")));
        }
    }
}
