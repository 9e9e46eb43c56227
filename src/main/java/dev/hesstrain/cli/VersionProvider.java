package dev.hesstrain.cli;

import dev.hesstrain.runs.Provenance;
import picocli.CommandLine.IVersionProvider;

/** hesstrain's version from the jar manifest, with the versions it runs on. */
public final class VersionProvider implements IVersionProvider {
    @Override
    public String[] getVersion() {
        return new String[] {
            "hesstrain " + Provenance.version(),
            "DJL 0.36.0 with PyTorch 2.7.1 (CPU, linux-x86_64)",
            "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")"
        };
    }
}
