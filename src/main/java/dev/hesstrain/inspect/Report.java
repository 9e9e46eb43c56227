package dev.hesstrain.inspect;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/** The readable table an inspection prints: what was computed, how, how long, and the key numbers. */
public final class Report {
    private Report() {}

    public static String table(InspectJob.Outcome outcome) {
        Path dir = outcome.dir();
        Map<String, Object> s = outcome.summary();
        StringBuilder b = new StringBuilder();
        boolean params = "params".equals(s.get("wrt"));
        String what = s.get("loss") == null ? "output" : s.get("loss") + " loss";
        line(b, "inspected", s.get("name") + ": " + what + " Hessian w.r.t. " + (params
                ? s.get("dimension") + " parameters" : "the " + s.get("dimension") + " inputs") + " at " + s.get("points")
                + " point(s)");
        line(b, "output directory", dir.toString());
        if (params) {
            line(b, "value", num(s.get("value")));
            line(b, "gradient norm", num(s.get("gradient_norm")));
        }
        for (String key : new String[] {"frobenius_norm", "max_asymmetry", "trace", "lambda_max", "lambda_min"}) {
            Object v = s.get(key);
            if (v instanceof Double d && !d.isNaN()) {
                line(b, key.replace('_', ' '), num(d));
            }
        }
        b.append('\n');
        b.append(String.format(Locale.ROOT, "%-9s %10s %10s  %s%n", "quantity", "HVPs", "seconds", "result"));
        for (Map.Entry<String, Map<String, Object>> e : outcome.quantities().entrySet()) {
            Map<String, Object> q = e.getValue();
            b.append(String.format(Locale.ROOT, "%-9s %10s %10.3f  %s%n", e.getKey(), q.get("hvps"),
                    ((Number) q.get("seconds")).doubleValue(), result(e.getKey(), q)));
        }
        b.append('\n');
        line(b, "files", String.join(", ", outcome.files()));
        return b.toString();
    }

    private static String result(String name, Map<String, Object> q) {
        return switch (name) {
            case "full" -> shape(q.get("shape")) + " " + q.get("dtype")
                    + (q.containsKey("ms_per_row") ? String.format(Locale.ROOT, ", %.3f ms/row", (Double) q.get("ms_per_row")) : "");
            case "diag" -> q.containsKey("sum") ? "sum " + num(q.get("sum")) + ", min " + num(q.get("min")) + ", max "
                    + num(q.get("max")) : shape(q.get("shape"));
            case "rowsum" -> q.containsKey("sum") ? "sum " + num(q.get("sum")) : shape(q.get("shape"));
            case "hvp" -> q.containsKey("norm") ? "|Hv| " + num(q.get("norm")) + ", v.Hv " + num(q.get("v_dot_hv"))
                    : shape(q.get("shape"));
            case "trace" -> (q.get("exact") == null ? "exact not computed (add diag)" : "exact " + num(q.get("exact")))
                    + (q.containsKey("hutchinson") ? ", Hutchinson " + num(q.get("hutchinson")) + " +- "
                    + num(q.get("hutchinson_standard_error")) + " (" + q.get("probes") + " probes)" : "");
            case "eigs" -> q.containsKey("values") ? "top " + q.get("k") + " " + values((double[]) q.get("values"))
                    + "; min " + num(q.get("lambda_min")) + ", max " + num(q.get("lambda_max")) + ", " + q.get("steps")
                    + " Lanczos steps" + (Boolean.TRUE.equals(q.get("converged")) ? "" : " (not converged)")
                    : shape(q.get("shape")) + "; min " + num(q.get("lambda_min")) + ", max " + num(q.get("lambda_max"));
            case "density" -> "support [" + values((double[]) q.get("support")) + "], sigma " + num(q.get("sigma"));
            default -> "";
        };
    }

    private static String values(double[] v) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < v.length; i++) {
            if (i > 0) {
                b.append(", ");
            }
            b.append(num(v[i]));
        }
        return b.toString();
    }

    private static String shape(Object o) {
        if (o instanceof long[] s) {
            StringBuilder b = new StringBuilder("[");
            for (int i = 0; i < s.length; i++) {
                b.append(i > 0 ? ", " : "").append(s[i]);
            }
            return b.append(']').toString();
        }
        return String.valueOf(o);
    }

    private static String num(Object o) {
        if (o instanceof Number n) {
            double d = n.doubleValue();
            if (o instanceof Long || o instanceof Integer) {
                return String.valueOf(o);
            }
            return Double.isNaN(d) ? "n/a" : String.format(Locale.ROOT, "%.6g", d);
        }
        return String.valueOf(o);
    }

    private static void line(StringBuilder b, String key, String value) {
        b.append(String.format(Locale.ROOT, "%-18s %s%n", key, value));
    }
}
