package dev.hesstrain.spec;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code sweep:} section: the grid {@code hesstrain sweep} trains, one axis a line in the
 * syntax of {@code --grid}: {@code grid: ["penalty.lambda=logspace(1e-5,1e-1,5)", "seed=0..4"]}.
 * {@code hesstrain train} ignores it. The syntax of every axis is checked here; whether each value
 * is valid for its field is checked by loading the member specs (in {@code sweep/}).
 */
public record SweepSpec(@JsonProperty("grid") List<String> grid) {

    public SweepSpec {
        Check.required("grid", grid);
        if (grid.isEmpty()) {
            throw new SpecException("grid", "is empty; list axes such as \"penalty.lambda=0,1e-4,1e-3\"");
        }
        grid = List.copyOf(grid);
        Set<String> paths = new HashSet<>();
        for (int i = 0; i < grid.size(); i++) {
            Axis a = Axis.parse("grid[" + i + "]", grid.get(i));
            if (!paths.add(a.path())) {
                throw new SpecException("grid[" + i + "]", "repeats the axis " + a.path());
            }
        }
    }

    /** The axes, in order. */
    @JsonIgnore
    public List<Axis> axes() {
        List<Axis> out = new ArrayList<>();
        for (int i = 0; i < grid.size(); i++) {
            out.add(Axis.parse("grid[" + i + "]", grid.get(i)));
        }
        return out;
    }

    /**
     * One axis of a grid: a spec field path and its values as YAML scalars, as {@code --set} takes
     * them. Syntax: {@code PATH=ITEM,ITEM,...}, where an item is a value, an integer range
     * {@code a..b} (both ends included), {@code logspace(low,high,n)} (n values, evenly spaced in
     * log10 from low to high, both positive) or {@code linspace(low,high,n)}.
     */
    public record Axis(String path, List<String> values, String text) {
        private static final Pattern PATH = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\[\\d+])*(\\.[A-Za-z_][A-Za-z0-9_]*(\\[\\d+])*)*");
        private static final Pattern RANGE = Pattern.compile("([+-]?\\d+)\\.\\.([+-]?\\d+)");
        private static final Pattern SPACE = Pattern.compile("(logspace|linspace)\\((.*)\\)", Pattern.CASE_INSENSITIVE);
        /** More values than this in one axis is a typo, not a sweep. */
        public static final int MAX_VALUES = 100_000;

        /**
         * Parses {@code PATH=ITEM,...}; failures are {@link SpecException}s on {@code field} (such
         * as {@code grid[0]}, or null where the caller names the argument).
         */
        public static Axis parse(String field, String text) {
            if (text == null) {
                throw new SpecException(field, "is empty; expected PATH=V1,V2,...");
            }
            int eq = text.indexOf('=');
            if (eq < 0) {
                throw new SpecException(field, "expected PATH=V1,V2,... such as penalty.lambda=0,1e-4,1e-3, found '" + text + "'");
            }
            String path = text.substring(0, eq).strip();
            if (path.isEmpty()) {
                throw new SpecException(field, "the field path before '=' is empty; expected PATH=V1,V2,...");
            }
            if (!PATH.matcher(path).matches()) {
                throw new SpecException(field, "'" + path + "' is not a field path such as penalty.lambda or model.layers[0].units");
            }
            List<String> values = new ArrayList<>();
            String rest = text.substring(eq + 1);
            if (rest.isBlank()) {
                throw new SpecException(field, "the grid of " + path + " is empty; give at least one value");
            }
            for (String item : items(field, rest)) {
                expand(field, item.strip(), values);
                if (values.size() > MAX_VALUES) {
                    throw new SpecException(field, "more than " + MAX_VALUES + " values for " + path);
                }
            }
            if (values.isEmpty()) {
                throw new SpecException(field, "the grid of " + path + " is empty; give at least one value");
            }
            // values, not strings: 1e-3 and 0.001 would train two identical members
            java.util.Map<Object, String> seen = new java.util.HashMap<>();
            for (String v : values) {
                String before = seen.putIfAbsent(valueOf(v), v);
                if (before != null) {
                    throw new SpecException(field, before.equals(v) ? "the value " + v + " appears twice in the grid of " + path
                            : "the values " + before + " and " + v + " are the same number in the grid of " + path);
                }
            }
            return new Axis(path, List.copyOf(values), text);
        }

        /** What a grid value stands for: a number's value (1e-3 and 0.001 are one), else its text. */
        private static Object valueOf(String v) {
            try {
                double d = Double.parseDouble(v.strip());
                return d == 0 ? 0.0 : d; // -0 and 0 are one value too
            } catch (NumberFormatException e) {
                return v;
            }
        }

        /** Splits at commas outside parentheses and brackets. */
        private static List<String> items(String field, String s) {
            List<String> out = new ArrayList<>();
            int depth = 0;
            int start = 0;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '(' || c == '[') {
                    depth++;
                } else if (c == ')' || c == ']') {
                    depth--;
                } else if (c == ',' && depth == 0) {
                    out.add(s.substring(start, i));
                    start = i + 1;
                }
            }
            if (depth != 0) {
                throw new SpecException(field, "unbalanced parentheses in '" + s + "'");
            }
            out.add(s.substring(start));
            return out;
        }

        private static void expand(String field, String item, List<String> into) {
            if (item.isEmpty()) {
                throw new SpecException(field, "an empty value between commas");
            }
            Matcher r = RANGE.matcher(item);
            if (r.matches()) {
                long a = Long.parseLong(r.group(1));
                long b = Long.parseLong(r.group(2));
                if (b < a) {
                    throw new SpecException(field, "the range " + item + " is empty (its end is below its start)");
                }
                if (b - a >= MAX_VALUES) {
                    throw new SpecException(field, "the range " + item + " has more than " + MAX_VALUES + " values");
                }
                for (long v = a; v <= b; v++) {
                    into.add(Long.toString(v));
                }
                return;
            }
            if (item.contains("..")) {
                throw new SpecException(field, "'" + item + "': ranges a..b take integers");
            }
            Matcher m = SPACE.matcher(item);
            if (m.matches()) {
                String fn = m.group(1).toLowerCase(Locale.ROOT);
                String[] args = m.group(2).split(",", -1);
                if (args.length != 3) {
                    throw new SpecException(field, "'" + item + "': " + fn + " takes (low, high, count)");
                }
                double lo = number(field, item, args[0]);
                double hi = number(field, item, args[1]);
                int n;
                try {
                    n = Integer.parseInt(args[2].strip());
                } catch (NumberFormatException e) {
                    throw new SpecException(field, "'" + item + "': the count must be an integer, found '" + args[2].strip() + "'");
                }
                if (n < 1) {
                    throw new SpecException(field, "'" + item + "': the count must be at least 1, found " + n);
                }
                if (n > MAX_VALUES) {
                    throw new SpecException(field, "'" + item + "': more than " + MAX_VALUES + " values");
                }
                boolean log = fn.equals("logspace");
                if (log && (lo <= 0 || hi <= 0)) {
                    throw new SpecException(field, "'" + item + "': logspace needs positive ends, found " + format(lo <= 0 ? lo : hi)
                            + zeroHint(lo, hi, n));
                }
                for (int i = 0; i < n; i++) {
                    double t = n == 1 ? 0 : (double) i / (n - 1);
                    double v = log ? Math.pow(10, Math.log10(lo) + t * (Math.log10(hi) - Math.log10(lo))) : lo + t * (hi - lo);
                    if (i == n - 1 && n > 1) {
                        v = hi;
                    } else if (i == 0) {
                        v = lo;
                    }
                    into.add(format(v));
                }
                return;
            }
            if (item.matches("[A-Za-z]+\\(.*")) {
                throw new SpecException(field, "'" + item + "': unknown function; expected logspace(low,high,n) or linspace(low,high,n)");
            }
            into.add(item);
        }

        /**
         * For a logspace with one end 0 and the other positive: the valid way to have 0 among the
         * values, 0 beside a logspace of the positive end and one 1000 times nearer 0, with one value
         * fewer ({@code logspace(1,0,3)}: {@code 0,logspace(1,0.001,2)}); nothing else.
         */
        private static String zeroHint(double lo, double hi, int n) {
            double positive = lo > 0 ? lo : hi;
            if ((lo != 0 && hi != 0) || positive <= 0 || n < 2) {
                return "";
            }
            String small = format(positive * 1e-3);
            String args = lo > 0 ? format(lo) + "," + small : small + "," + format(hi);
            return "; for 0 among the values put it beside a logspace of positive ends, such as 0,logspace(" + args + ","
                    + (n - 1) + ")";
        }

        private static double number(String field, String item, String s) {
            try {
                double v = Double.parseDouble(s.strip());
                if (Double.isFinite(v)) {
                    return v;
                }
            } catch (NumberFormatException e) {
                // below
            }
            throw new SpecException(field, "'" + item + "': '" + s.strip() + "' is not a finite number");
        }

        /** A value to 12 significant digits, plain between 1e-3 and 1e6, else as 3.2e-05's kin 3.2e-5. */
        static String format(double v) {
            if (v == 0) {
                return "0";
            }
            BigDecimal d = new BigDecimal(v).round(new MathContext(12)).stripTrailingZeros();
            double a = Math.abs(v);
            if (a >= 1e-3 && a < 1e6) {
                return d.toPlainString();
            }
            String mant = d.movePointLeft(d.precision() - d.scale() - 1).stripTrailingZeros().toPlainString();
            int exp = d.precision() - d.scale() - 1;
            return mant + "e" + exp;
        }
    }
}
