package dev.hesstrain.spec;

import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import net.objecthunter.exp4j.ExpressionBuilder;

/** Parses and checks generator expressions such as {@code sin(2*pi*x1*x2)} (exp4j syntax). */
public final class Expression {
    private static final Pattern POSITION = Pattern.compile("(?:position|pos) (\\d+)");
    private static final Pattern UNKNOWN = Pattern.compile("Unknown function or variable '([^']*)'");

    private Expression() {}

    /** The variable names x1..xd. */
    public static Set<String> variables(int inputs) {
        Set<String> vars = new LinkedHashSet<>();
        for (int i = 1; i <= inputs; i++) {
            vars.add("x" + i);
        }
        return vars;
    }

    /** Builds an exp4j expression in x1..x{inputs}; throws {@link SpecException} naming the field. */
    public static net.objecthunter.exp4j.Expression parse(String field, String text, int inputs) {
        if (text.isBlank()) {
            throw new SpecException(field, "the expression is empty");
        }
        try {
            return new ExpressionBuilder(text).variables(variables(inputs)).build();
        } catch (RuntimeException e) {
            throw new SpecException(field, describe(text, e.getMessage(), inputs));
        }
    }

    static void validate(String field, String text, int inputs) {
        net.objecthunter.exp4j.Expression e = parse(field, text, inputs);
        for (String v : variables(inputs)) {
            e.setVariable(v, 0.5);
        }
        var result = e.validate(true);
        if (!result.isValid()) {
            throw new SpecException(
                    field, "invalid expression '" + text + "': " + String.join("; ", result.getErrors()));
        }
    }

    private static String describe(String text, String message, int inputs) {
        String msg = message == null ? "bad syntax" : message;
        Matcher unknown = UNKNOWN.matcher(msg);
        Matcher pos = POSITION.matcher(msg);
        StringBuilder sb = new StringBuilder();
        if (unknown.find()) {
            sb.append("unknown variable or function '").append(unknown.group(1)).append("'");
            sb.append(" (variables are x1..x").append(inputs).append(")");
        } else {
            sb.append("bad syntax: ").append(msg);
        }
        if (pos.find()) {
            int column = Integer.parseInt(pos.group(1)) + 1;
            sb.append(" at column ").append(column).append(" of the expression '").append(text).append("'");
        } else {
            sb.append(" in the expression '").append(text).append("'");
        }
        return sb.toString();
    }
}
