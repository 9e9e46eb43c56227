package dev.hesstrain.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hesstrain.runs.RunDirectory;
import dev.hesstrain.runs.RunSummary;
import dev.hesstrain.spec.Spec;
import dev.hesstrain.spec.SpecLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What {@code train --resume DIR} may continue: the run's own spec, of which only
 * {@code train.epochs} may change, from its last checkpoint. Every refusal is a
 * {@link ResumeException} (a usage error).
 */
public final class Resume {
    private Resume() {}

    /** Where the run continues: its checkpoint's position, or nothing to do (its epochs are done). */
    public record Plan(Trainer.Position at, boolean nothingToDo) {}

    /** The run's spec file, after checking that {@code dir} is a run directory. */
    public static Path specFile(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new ResumeException("no run directory at " + dir);
        }
        Path specFile = dir.resolve(RunDirectory.SPEC);
        if (!Files.isRegularFile(specFile)) {
            throw new ResumeException(dir + " is not a run directory: it has no " + RunDirectory.SPEC);
        }
        return specFile;
    }

    /** Refuses an {@code asked} spec that differs from the run's own in anything but train.epochs. */
    public static void requireSameSpec(Path dir, Spec asked) {
        List<String> changed = differences(SpecLoader.load(specFile(dir)), asked);
        changed.remove("train.epochs");
        if (!changed.isEmpty()) {
            throw new ResumeException("the run in " + dir + " was trained with another spec (" + String.join(", ", changed)
                    + (changed.size() == 1 ? " differs" : " differ")
                    + "); a resumed run continues its own spec, of which only train.epochs may change");
        }
    }

    /**
     * Where the run in {@code dir} (claimed by the caller) continues for {@code spec}: refused when
     * it diverged, has no checkpoint with the optimizer's state, or is already past the epochs asked for.
     */
    public static Plan plan(Path dir, Spec spec) throws IOException {
        Path summary = dir.resolve(RunDirectory.SUMMARY);
        RunSummary before = Files.isRegularFile(summary) ? RunSummary.read(summary) : null;
        if (before != null && StopReason.DIVERGED.id().equals(before.stopped())) {
            throw new ResumeException("the run in " + dir + " diverged; resumed from its checkpoint it would take the same "
                    + "steps again. Change the spec and train a new run");
        }
        Trainer.Position at;
        try {
            at = TrainJob.checkpointPosition(dir);
        } catch (IOException e) {
            throw new ResumeException(e.getMessage() + " (runs trained before checkpoints held the optimizer's state "
                    + "cannot be resumed)", e);
        }
        int epochs = spec.train().epochs();
        if (at.epochs() == epochs && at.batches() == 0) {
            return new Plan(at, true);
        }
        if (at.epochs() >= epochs) {
            throw new ResumeException("train.epochs is " + epochs + " but the run in " + dir + " is past epoch "
                    + at.epochs() + "; give at least " + (at.epochs() + 1));
        }
        return new Plan(at, false);
    }

    /** The fields (dotted paths, list indices in brackets) whose values differ between two specs. */
    static List<String> differences(Spec a, Spec b) {
        ObjectMapper m = new ObjectMapper();
        List<String> out = new ArrayList<>();
        diff("", m.valueToTree(a), m.valueToTree(b), out);
        return out;
    }

    private static void diff(String path, JsonNode a, JsonNode b, List<String> out) {
        if (a != null && b != null && a.isObject() && b.isObject()) {
            Set<String> keys = new LinkedHashSet<>();
            a.fieldNames().forEachRemaining(keys::add);
            b.fieldNames().forEachRemaining(keys::add);
            for (String k : keys) {
                diff(path.isEmpty() ? k : path + "." + k, a.get(k), b.get(k), out);
            }
        } else if (a != null && b != null && a.isArray() && b.isArray() && a.size() == b.size()) {
            for (int i = 0; i < a.size(); i++) {
                diff(path + "[" + i + "]", a.get(i), b.get(i), out);
            }
        } else if (!Objects.equals(a, b)) {
            out.add(path);
        }
    }
}
