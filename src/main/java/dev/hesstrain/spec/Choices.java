package dev.hesstrain.spec;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Parsing of the closed sets of the spec (loss, layer type, optimizer, ...): each is an enum whose
 * name in a spec is its constant's name in lower case. This is the one place a spec's string
 * becomes a constant; everything past the spec switches on the enum.
 */
final class Choices {
    private Choices() {}

    /** The lower-case name of {@code e}, as written in a spec. */
    static String id(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    /**
     * The constant named {@code value} (any case). An unknown name is a {@link SpecException} with
     * an empty field, which the loader places under the field's path.
     */
    static <E extends Enum<E>> E parse(E[] values, String value) {
        if (value == null) {
            throw new SpecException("", "is required");
        }
        String v = value.toLowerCase(Locale.ROOT);
        for (E e : values) {
            if (id(e).equals(v)) {
                return e;
            }
        }
        throw new SpecException("", "unknown value '" + value + "'; expected one of "
                + Arrays.stream(values).map(Choices::id).collect(Collectors.joining(", ")));
    }
}
