package dev.hesstrain.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hesstrain.runs.Json;
import dev.hesstrain.runs.Provenance;
import dev.hesstrain.runs.RunDirectory;
import dev.hesstrain.spec.SpecLoader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A sweep directory: {@code sweep.json} (the plan: grid, members, their spec hashes, provenance),
 * one standard run directory per member under {@code members/}, and the report beside them. The
 * plan's hash identifies the sweep: a directory that holds another plan is refused.
 */
public final class SweepDirectory {
    public static final String PLAN = "sweep.json";
    public static final String CSV = "sweep.csv";
    public static final String MEMBERS = "members";
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

    private final Path path;

    private SweepDirectory(Path path) {
        this.path = path;
    }

    public Path path() {
        return path;
    }

    public Path file(String name) {
        return path.resolve(name);
    }

    /** The run directory of a member (not created). */
    public Path memberPath(Member m) {
        return path.resolve(MEMBERS).resolve(m.id());
    }

    /** The directory a new sweep goes to: {@code out}, or {@code root/<name>-<timestamp>}. */
    public static Path choose(Path root, String name, Path out) {
        if (out != null) {
            return out;
        }
        String base = name + "-" + LocalDateTime.now().format(STAMP);
        Path dir = root.resolve(base);
        for (int i = 2; Files.exists(dir); i++) {
            dir = root.resolve(base + "-" + i);
        }
        return dir;
    }

    /**
     * Opens {@code dir} for {@code plan}: creates it and writes sweep.json when it holds no sweep,
     * checks the plan when it does, and refuses a directory holding another sweep.
     */
    public static SweepDirectory openFor(Path dir, SweepPlan plan) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new SweepException(true, dir + " exists and is not a directory");
        }
        Path planFile = dir.resolve(PLAN);
        String hash = hash(plan);
        if (Files.isRegularFile(planFile)) {
            JsonNode old = readPlan(dir);
            if (!hash.equals(old.path("plan_sha256").asText())) {
                throw new SweepException(true, dir + " holds another sweep: " + difference(old, plan)
                        + "; resume only with the same spec, --set and --grid, or give a new --out");
            }
            return new SweepDirectory(dir);
        }
        if (Files.isDirectory(dir)) {
            try (var s = Files.list(dir)) {
                if (s.anyMatch(p -> !p.getFileName().toString().startsWith("."))) {
                    throw new SweepException(true, dir + " is not empty and holds no " + PLAN
                            + ": give a new or empty --out");
                }
            }
        }
        try {
            Files.createDirectories(dir.resolve(MEMBERS));
        } catch (IOException e) {
            throw new SweepException(true, "cannot create the sweep directory " + dir + ": " + e.getMessage(), e);
        }
        Json.write(planFile, describe(plan, hash));
        return new SweepDirectory(dir);
    }

    /** Opens an existing sweep directory (for --report). */
    public static SweepDirectory open(Path dir) throws IOException {
        if (!Files.isRegularFile(dir.resolve(PLAN))) {
            throw new SweepException(true, "no sweep at " + dir + ": it has no " + PLAN);
        }
        return new SweepDirectory(dir);
    }

    /** sweep.json as a tree. */
    public static JsonNode readPlan(Path dir) throws IOException {
        try {
            return Json.readTree(dir.resolve(PLAN));
        } catch (IOException | RuntimeException e) {
            throw new SweepException(true, "cannot read " + dir.resolve(PLAN) + ": " + e.getMessage(), e);
        }
    }

    /** The plan's identity: the varied paths and every member's id and resolved-spec hash. */
    static String hash(SweepPlan plan) {
        StringBuilder sb = new StringBuilder(String.join("\u0000", plan.paths())).append('\n');
        for (Member m : plan.members()) {
            sb.append(m.id()).append(' ').append(SpecLoader.hash(m.spec())).append('\n');
        }
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(sb.toString().getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String difference(JsonNode old, SweepPlan plan) {
        Map<String, List<String>> was = new LinkedHashMap<>();
        for (JsonNode a : old.path("grid")) {
            List<String> v = new ArrayList<>();
            a.path("values").forEach(x -> v.add(x.asText()));
            was.put(a.path("path").asText(), v);
        }
        Map<String, List<String>> now = new LinkedHashMap<>();
        for (SweepPlan.NamedAxis a : plan.axes()) {
            now.put(a.axis().path(), a.axis().values());
        }
        if (!was.equals(now)) {
            return "its grid was " + render(was) + ", this one is " + render(now);
        }
        return "the grid is the same but the members' resolved specs differ (the spec file or --set changed)";
    }

    private static String render(Map<String, List<String>> grid) {
        List<String> parts = new ArrayList<>();
        grid.forEach((k, v) -> parts.add(k + "=" + String.join(",", v)));
        return String.join(" ", parts);
    }

    private static Map<String, Object> describe(SweepPlan plan, String hash) {
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("name", plan.base().name());
        j.put("config", plan.config());
        j.put("set", plan.sets());
        List<Map<String, Object>> grid = new ArrayList<>();
        for (SweepPlan.NamedAxis a : plan.axes()) {
            Map<String, Object> g = new LinkedHashMap<>();
            g.put("path", a.axis().path());
            g.put("values", a.axis().values());
            g.put("source", a.source());
            grid.add(g);
        }
        j.put("grid", grid);
        j.put("loss", plan.base().loss());
        j.put("plan_sha256", hash);
        List<Map<String, Object>> members = new ArrayList<>();
        for (Member m : plan.members()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("index", m.index());
            e.put("id", m.id());
            e.put("dir", MEMBERS + "/" + m.id());
            e.put("group", m.group());
            e.put("values", m.values());
            e.put("seed", m.spec().seed());
            e.put("spec_sha256", SpecLoader.hash(m.spec()));
            members.add(e);
        }
        j.put("members", members);
        j.put("groups", plan.members().stream().map(Member::group).distinct().count());
        j.put("provenance", Provenance.of(null, null, null, plan.base().seed(), SpecLoader.hash(plan.base()), null));
        return j;
    }

    /**
     * The epochs of a member whose run was extended beyond the sweep's by {@code train --resume
     * members/X --set train.epochs=N} (its spec.yaml differs from the member's only in a larger
     * {@code train.epochs}), or 0 for any other member. The sweep keeps such a member as it is (it
     * would otherwise train it afresh and throw the extension away) and says so. A member directory
     * with a summary whose spec differs in anything else holds a run this sweep did not train:
     * refused, so that nothing finished is deleted without a word.
     */
    public int extended(Member m) {
        Path dir = memberPath(m);
        Path specFile = dir.resolve(RunDirectory.SPEC);
        if (!Files.isRegularFile(specFile)) {
            return 0;
        }
        dev.hesstrain.spec.Spec own;
        try {
            if (Files.readString(specFile, StandardCharsets.UTF_8).equals(SpecLoader.toYaml(m.spec()))) {
                return 0;
            }
            own = SpecLoader.load(specFile);
        } catch (IOException | RuntimeException e) {
            return 0; // unreadable: a broken member, trained afresh as before
        }
        if (SpecLoader.toYaml(own).equals(SpecLoader.toYaml(m.spec()))) {
            return 0;
        }
        try {
            dev.hesstrain.train.Resume.requireSameSpec(dir, m.spec());
        } catch (RuntimeException e) {
            if (Files.isRegularFile(dir.resolve(RunDirectory.SUMMARY))) {
                throw new SweepException(true, "member " + m.id() + ": " + dir + " holds a run of another spec than this "
                        + "sweep's member (" + e.getMessage().replaceFirst("^.*?\\((.*)\\).*$", "$1")
                        + "); move it away, and the sweep trains the member afresh, or give another --out");
            }
            return 0;
        }
        return own.train().epochs() > m.spec().train().epochs() ? own.train().epochs() : 0;
    }

    /** Whether a member's run completed with this spec (its summary says so and its spec matches). */
    public boolean completed(Member m) {
        Path dir = memberPath(m);
        try {
            JsonNode s = Json.readTree(dir.resolve(RunDirectory.SUMMARY));
            String spec = Files.readString(dir.resolve(RunDirectory.SPEC), StandardCharsets.UTF_8);
            String stopped = s.path("stopped").asText(); // early_stopped is done too: a rerun would stop again
            return ("completed".equals(stopped) || "early_stopped".equals(stopped))
                    && spec.equals(SpecLoader.toYaml(m.spec()));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
