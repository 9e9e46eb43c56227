package dev.hesstrain.sweep;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hesstrain.spec.Spec;
import dev.hesstrain.spec.SpecException;
import dev.hesstrain.spec.SpecLoader;
import dev.hesstrain.spec.SweepSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A sweep resolved from a spec, its {@code --set}s and its grid: the axes and every member's
 * resolved spec, in grid order (the first axis varies slowest). Every grid value is validated by
 * loading the member's spec through {@link SpecLoader}, so a bad value gets the spec's message,
 * placed at the grid argument that gave it.
 */
public final class SweepPlan {
    /** The most members one sweep may have. */
    public static final int MAX_MEMBERS = 100_000;
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One axis with the argument it came from, for messages (such as {@code --grid seed=0..4}), and
     * for an axis of the spec's {@code sweep:} section its field path there ({@code sweep.grid[1]},
     * else null), so that its errors are placed in the file as other spec errors are.
     */
    public record NamedAxis(SweepSpec.Axis axis, String source, String field) {}

    private final String config;
    private final List<String> sets;
    private final List<NamedAxis> axes;
    private final Spec base;
    private final List<Member> members;

    private SweepPlan(String config, List<String> sets, List<NamedAxis> axes, Spec base, List<Member> members) {
        this.config = config;
        this.sets = sets;
        this.axes = axes;
        this.base = base;
        this.members = members;
    }

    /**
     * Resolves a sweep. The spec's {@code sweep:} section gives axes; {@code --grid} arguments add
     * axes or replace the section's axis of the same path.
     *
     * @throws SpecException on a bad spec, {@code --set} or grid: exit 2
     */
    public static SweepPlan resolve(Path configFile, List<String> sets, List<String> grids) {
        String name = configFile.toString();
        String text;
        try {
            text = Files.readString(configFile, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new SpecException(name, null, 0, 0, "no such file");
        } catch (IOException e) {
            throw new SpecException(name, null, 0, 0, "cannot read: " + e.getMessage());
        }
        Spec base = SpecLoader.parse(name, text, sets);
        LinkedHashMap<String, NamedAxis> byPath = new LinkedHashMap<>();
        if (base.sweep() != null) {
            List<SweepSpec.Axis> section = base.sweep().axes();
            for (int i = 0; i < section.size(); i++) {
                byPath.put(section.get(i).path(), new NamedAxis(section.get(i),
                        "sweep.grid[" + i + "] " + section.get(i).text(), "sweep.grid[" + i + "]"));
            }
        }
        List<String> cliPaths = new ArrayList<>();
        for (String g : grids) {
            SweepSpec.Axis a;
            try {
                a = SweepSpec.Axis.parse(null, g);
            } catch (SpecException e) {
                throw new SpecException(name + " (--grid " + g + ")", null, 0, 0, e.problem());
            }
            if (cliPaths.contains(a.path())) {
                throw new SpecException(name + " (--grid " + g + ")", null, 0, 0, "a second --grid for " + a.path());
            }
            cliPaths.add(a.path());
            byPath.put(a.path(), new NamedAxis(a, "--grid " + g, null));
        }
        if (byPath.isEmpty()) {
            throw new SpecException(name, "sweep", 0, 0,
                    "no grid: give --grid PATH=V1,V2,... or a sweep: section with grid: [\"PATH=V1,V2,...\"]");
        }
        List<NamedAxis> axes = List.copyOf(byPath.values());
        JsonNode resolved = JSON.valueToTree(base);
        for (NamedAxis na : axes) {
            String path = na.axis().path();
            for (String s : sets) {
                String sp = s.contains("=") ? s.substring(0, s.indexOf('=')).strip() : s;
                if (sp.equals(path)) {
                    throw at(name, text, na, path + " is also given by --set " + s + "; a field is either set or swept");
                }
            }
            if (path.equals("name") || path.equals("sweep") || path.startsWith("sweep.")) {
                throw at(name, text, na, path + " cannot be swept");
            }
            JsonNode node = at(resolved, path);
            if (node != null && node.isContainerNode()) {
                throw at(name, text, na, path + " is " + (node.isArray() ? "a list" : "a mapping")
                        + "; --grid takes a scalar field, such as " + path + (node.isArray() ? "[0]" : ".FIELD"));
            }
            // each value on its own first, so that the message names the value that is bad
            for (String v : na.axis().values()) {
                List<String> o = new ArrayList<>(sets);
                o.add(path + "=" + v);
                o.add("sweep=null");
                try {
                    SpecLoader.parse(name, text, o);
                } catch (SpecException e) {
                    throw at(name, text, na, (e.field() == null || e.field().isEmpty() ? "" : e.field() + ": ") + e.problem());
                }
            }
        }
        long count = 1;
        for (NamedAxis na : axes) {
            count *= na.axis().values().size();
            if (count > MAX_MEMBERS) {
                String problem = "the grid has more than " + MAX_MEMBERS + " members";
                throw base.sweep() != null ? SpecLoader.errorAt(name, text, "sweep", problem)
                        : new SpecException(name, "sweep", 0, 0, problem);
            }
        }
        List<Member> members = new ArrayList<>();
        int digits = Math.max(3, Long.toString(count - 1).length());
        Map<String, Integer> groups = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            LinkedHashMap<String, String> values = new LinkedHashMap<>();
            List<String> o = new ArrayList<>(sets);
            List<String> own = new ArrayList<>();
            int rest = i;
            int[] pick = new int[axes.size()];
            for (int a = axes.size() - 1; a >= 0; a--) {
                int n = axes.get(a).axis().values().size();
                pick[a] = rest % n;
                rest /= n;
            }
            StringBuilder id = new StringBuilder(String.format("%0" + digits + "d", i));
            for (int a = 0; a < axes.size(); a++) {
                String path = axes.get(a).axis().path();
                String v = axes.get(a).axis().values().get(pick[a]);
                values.put(path, v);
                own.add(path + "=" + v);
                id.append('-').append(shortName(path)).append('=').append(v.replaceAll("[^A-Za-z0-9.+-]", "_"));
            }
            o.addAll(own);
            o.add("sweep=null");
            Spec spec;
            try {
                spec = SpecLoader.parse(name, text, o);
            } catch (SpecException e) {
                throw new SpecException(name + " (member " + id + ": " + String.join(" ", own) + ")", e.field(), 0, 0,
                        e.problem());
            }
            String key = Structure.key(spec);
            groups.putIfAbsent(key, groups.size());
            String memberId = id.length() > 120 ? id.substring(0, 120) : id.toString();
            members.add(new Member(i, memberId, values, spec, "g" + groups.get(key), List.copyOf(own), name));
        }
        return new SweepPlan(name, List.copyOf(sets), axes, base, List.copyOf(members));
    }

    /**
     * A problem with one axis: for an axis of the spec's sweep: section, at its line and column in
     * the file ({@code file:28:7: sweep.grid[1]: problem}); for a --grid, naming the argument.
     */
    private static SpecException at(String config, String text, NamedAxis na, String problem) {
        return na.field() != null ? SpecLoader.errorAt(config, text, na.field(), problem)
                : new SpecException(config + " (" + na.source() + ")", null, 0, 0, problem);
    }

    /** The last key of a path: penalty.lambda gives lambda, model.layers[0].units gives units. */
    static String shortName(String path) {
        String last = path.substring(path.lastIndexOf('.') + 1);
        return last.isEmpty() ? path : last;
    }

    private static JsonNode at(JsonNode root, String path) {
        JsonNode n = root;
        for (String part : path.split("\\.")) {
            int br = part.indexOf('[');
            String key = br < 0 ? part : part.substring(0, br);
            n = n == null ? null : n.get(key);
            while (br >= 0 && n != null) {
                int close = part.indexOf(']', br);
                n = n.get(Integer.parseInt(part.substring(br + 1, close)));
                br = part.indexOf('[', close);
            }
        }
        return n;
    }

    public String config() {
        return config;
    }

    public List<String> sets() {
        return sets;
    }

    public List<NamedAxis> axes() {
        return axes;
    }

    /** The spec as given, with the --sets applied and before any grid value. */
    public Spec base() {
        return base;
    }

    public List<Member> members() {
        return members;
    }

    /** The varied field paths, in axis order. */
    public List<String> paths() {
        return axes.stream().map(a -> a.axis().path()).toList();
    }
}
