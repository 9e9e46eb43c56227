package dev.hesstrain.inspect;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The closed sets of inspect-hessian's options, each parsed once, at the option boundary. */
public final class Choice {
    private Choice() {}

    /** What the Hessian is taken with respect to. */
    public enum Wrt {
        INPUT,
        PARAMS;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        @Override
        public String toString() {
            return id();
        }

        public static Wrt parse(String value) {
            return Choice.parse("--wrt", value, Wrt.class);
        }
    }

    /** What is differentiated. */
    public enum Of {
        OUTPUT,
        LOSS;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        @Override
        public String toString() {
            return id();
        }

        public static Of parse(String value) {
            return Choice.parse("--of", value, Of.class);
        }
    }

    /** The quantities, in the order they are computed and reported. */
    public enum Quantity {
        FULL,
        DIAG,
        ROWSUM,
        HVP,
        TRACE,
        EIGS,
        DENSITY;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        @Override
        public String toString() {
            return id();
        }

        /** One name of a comma list; the message names the option and lists every quantity. */
        public static Quantity parse(String value) {
            String v = value == null ? "" : value.trim();
            for (Quantity q : values()) {
                if (q.id().equalsIgnoreCase(v)) {
                    return q;
                }
            }
            throw new InspectException("--quantity: unknown quantity '" + v + "'; expected a comma list of " + list());
        }

        static String list() {
            return Arrays.stream(values()).map(Quantity::id).collect(Collectors.joining(", "));
        }
    }

    /** Which curvature matrix of the loss w.r.t. the parameters. */
    public enum Matrix {
        /** The Hessian itself. */
        HESSIAN,
        /** The generalised Gauss-Newton matrix Σ_n J_nᵀ H_f,n J_n, split at the logits. */
        GGN,
        /** The Monte Carlo Fisher: the GGN with the loss Hessian replaced by sampled gradients. */
        FISHER;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        @Override
        public String toString() {
            return id();
        }

        public static Matrix parse(String value) {
            return Choice.parse("--curvature", value, Matrix.class);
        }
    }

    /** How the diagonal (and the exact trace) of a parameter curvature matrix is computed. */
    public enum Method {
        /** The curvature backpropagation pass: a few gradient-costs. */
        BACKPROP,
        /** Every row, P products: the cross-check. */
        ROWS;

        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        @Override
        public String toString() {
            return id();
        }

        public static Method parse(String value) {
            return Choice.parse("--method", value, Method.class);
        }
    }

    static <E extends Enum<E>> E parse(String option, String value, Class<E> type) {
        String v = value == null ? "" : value.trim();
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(v)) {
                return e;
            }
        }
        throw new InspectException(option + ": unknown value '" + value + "'; expected one of " + Arrays.stream(
                type.getEnumConstants()).map(e -> e.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", ")));
    }
}
