package dev.hesstrain.hessian;

import java.util.Locale;

/** Norms of the input Hessian H of one output at one sample, used as penalties. */
public enum Norm {
    /** Σⱼₖ Hⱼₖ². */
    FROBENIUS,
    /** (Σⱼ Hⱼⱼ)², the squared Laplacian. */
    TRACE,
    /** Σⱼ Hⱼⱼ². */
    DIAGONAL,
    /** Σⱼ≠ₖ Hⱼₖ². */
    OFFDIAGONAL;

    public static Norm of(String name) {
        return valueOf(name.toUpperCase(Locale.ROOT));
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The norm of a dense symmetric d×d Hessian, in float64 (for tests and reports). */
    public double of(double[][] h) {
        double s = 0;
        double tr = 0;
        for (int j = 0; j < h.length; j++) {
            tr += h[j][j];
            for (int k = 0; k < h.length; k++) {
                double v = h[j][k] * h[j][k];
                s += switch (this) {
                    case FROBENIUS -> v;
                    case DIAGONAL -> j == k ? v : 0;
                    case OFFDIAGONAL -> j != k ? v : 0;
                    case TRACE -> 0;
                };
            }
        }
        return this == TRACE ? tr * tr : s;
    }
}
