package dev.hesstrain.spec;

/** Validation helpers for the spec records; each failure names its field. */
final class Check {
    private Check() {}

    static <T> T required(String field, T value) {
        if (value == null) {
            throw new SpecException(field, "is required");
        }
        return value;
    }

    static int positive(String field, Integer value) {
        required(field, value);
        if (value <= 0) {
            throw new SpecException(field, "must be positive, found " + value);
        }
        return value;
    }

    static int atLeast(String field, Integer value, int min) {
        required(field, value);
        if (value < min) {
            throw new SpecException(field, "must be at least " + min + ", found " + value);
        }
        return value;
    }

    static double finite(String field, Double value) {
        required(field, value);
        if (!Double.isFinite(value)) {
            throw new SpecException(field, "must be a finite number, found " + value);
        }
        return value;
    }

    static double nonNegative(String field, Double value) {
        finite(field, value);
        if (value < 0) {
            throw new SpecException(field, "must not be negative, found " + value);
        }
        return value;
    }

    static double positive(String field, Double value) {
        finite(field, value);
        if (value <= 0) {
            throw new SpecException(field, "must be positive, found " + value);
        }
        return value;
    }

    static void absent(String field, Object value, String why) {
        if (value != null) {
            throw new SpecException(field, "is not allowed " + why);
        }
    }
}
