package dev.hesstrain.sweep;

import dev.hesstrain.spec.Spec;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One point of the grid: its index, its directory name under {@code members/}, the value of each
 * varied field (as given, a YAML scalar), its fully resolved spec and its structure group.
 *
 * @param overrides the {@code --set} form of the grid values, in axis order, applied after the
 *     sweep's own {@code --set}s
 * @param source the spec file the member comes from (relative data files resolve against its directory)
 */
public record Member(int index, String id, Map<String, String> values, Spec spec, String group,
        java.util.List<String> overrides, String source) {

    public Member {
        values = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(values)); // keeps the axis order
    }
}
