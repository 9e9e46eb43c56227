package dev.hesstrain.cli;

import dev.hesstrain.spec.Spec;
import dev.hesstrain.spec.SpecLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code --config} and {@code --set}: the spec a command works on, shared by every command that reads one. */
public final class SpecOptions {
    @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "The spec, YAML or JSON.")
    Path config;

    @Option(names = "--set", paramLabel = "PATH=VALUE",
            description = "Override a spec field, e.g. --set train.epochs=5 --set penalty.lambda=0 "
                    + "--set model.layers[0].units=20. Repeatable.")
    List<String> overrides = new ArrayList<>();

    /** Whether --config was given. */
    public boolean given() {
        return config != null;
    }

    /** The spec file, which the command requires: a usage error naming the option when it is missing. */
    public Path required(CommandSpec command) {
        if (config == null) {
            throw new ParameterException(command.commandLine(), "Missing required option: '--config=FILE'");
        }
        return config;
    }

    /** The spec file (null when not given). */
    public Path config() {
        return config;
    }

    /** The --set overrides, in order. */
    public List<String> overrides() {
        return overrides;
    }

    /** Loads and validates the spec with its overrides (no engine is needed for this). */
    public Spec load(CommandSpec command) {
        return SpecLoader.load(required(command), overrides);
    }
}
