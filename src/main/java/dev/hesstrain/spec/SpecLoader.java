package dev.hesstrain.spec;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Reads a spec from YAML or JSON (one schema), applies {@code --set path=value} overrides, and
 * validates it. Every failure is a {@link SpecException} naming the file, the field path and,
 * where the file has one, the line and column.
 */
public final class SpecLoader {

    private static final ObjectMapper YAML = configure(YAMLMapper.builder(
                    YAMLFactory.builder()
                            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                            .build())
            .build());
    private static final ObjectMapper JSON = configure(JsonMapper.builder().build());

    private SpecLoader() {}

    private static ObjectMapper configure(ObjectMapper m) {
        m.enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        m.enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
        m.enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);
        m.enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        m.disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT);
        m.configure(MapperFeature.ALLOW_COERCION_OF_SCALARS, true);
        m.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        return m;
    }

    /** Loads the spec at {@code file} with no overrides. */
    public static Spec load(Path file) {
        return load(file, List.of());
    }

    /** Loads the spec at {@code file}, then applies overrides of the form {@code a.b[0].c=value}. */
    public static Spec load(Path file, List<String> overrides) {
        String name = file.toString();
        String text;
        try {
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                throw tooLarge(name, size);
            }
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new SpecException(name, null, 0, 0, "no such file");
        } catch (IOException e) {
            throw new SpecException(name, null, 0, 0, "cannot read: " + e.getMessage());
        }
        return parse(name, text, overrides);
    }

    /**
     * Parses spec text; {@code name} (a file name) decides YAML or JSON and names errors. When
     * {@code name} is a file, a relative {@code data.file} in the text is resolved against its
     * folder (see {@link #resolveDataFile}); one given by an override against the working directory.
     */
    public static Spec parse(String name, String text, List<String> overrides) {
        if (text.length() > MAX_BYTES) {
            throw tooLarge(name, text.length());
        }
        ObjectMapper mapper = mapperFor(name, text);
        JsonNode tree;
        try {
            refuseAliases(name, text, mapper);
            tree = mapper.readTree(text);
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            throw new SpecException(name, null, line(loc), column(loc), "syntax error: " + condense(e.getOriginalMessage()));
        }
        if (tree == null || tree.isMissingNode() || tree.isNull()) {
            throw new SpecException(name, null, 0, 0, "the spec is empty");
        }
        if (!tree.isObject()) {
            throw new SpecException(name, null, 1, 1, "the spec must be a mapping of keys to values");
        }
        ObjectNode root = (ObjectNode) tree;
        Map<String, String> overridden = new LinkedHashMap<>();
        for (String o : overrides) {
            String path = applyOverride(root, o);
            overridden.put(path, o);
        }
        if (!root.has("name")) {
            root.set("name", TextNode.valueOf(stem(name)));
        }
        resolveDataFile(root, folderOf(name), overridden.containsKey("data.file") || overridden.containsKey("data"));
        try {
            return mapper.treeToValue(root, Spec.class);
        } catch (JsonMappingException e) {
            throw locate(name, text, mapper, describe(e, root), overridden);
        } catch (SpecException e) {
            throw locate(name, text, mapper, e, overridden);
        } catch (JsonProcessingException e) {
            throw new SpecException(name, null, 0, 0, e.getOriginalMessage());
        }
    }

    /**
     * The largest spec file read, in bytes (1 MiB): a spec is a few kilobytes, and a bigger file
     * is refused before it is parsed (a 50 MB {@code name:} would otherwise hold the parser for
     * minutes).
     */
    public static final int MAX_BYTES = 1 << 20;

    private static SpecException tooLarge(String name, long size) {
        return new SpecException(name, null, 0, 0, "the spec is " + size + " bytes; a spec may have at most " + MAX_BYTES
                + " bytes (1 MiB)");
    }

    /**
     * YAML aliases ({@code *name}) are refused by name: Jackson's tree would read one as the
     * anchor's name as text, not as the anchored value.
     */
    private static void refuseAliases(String name, String text, ObjectMapper mapper) throws JsonProcessingException {
        if (mapper != YAML || text.indexOf('*') < 0) {
            return;
        }
        try (JsonParser p = mapper.getFactory().createParser(text)) {
            while (p.nextToken() != null) {
                if (p instanceof com.fasterxml.jackson.dataformat.yaml.YAMLParser y && y.isCurrentAlias()) {
                    JsonLocation loc = p.currentTokenLocation();
                    String field = fieldOf(p.getParsingContext());
                    throw new SpecException(name, field.isEmpty() ? null : field, line(loc), column(loc),
                            "YAML aliases such as *" + p.getText() + " are not supported; write the value out in full");
                }
            }
        } catch (JsonProcessingException e) {
            throw e;
        } catch (IOException e) {
            throw new SpecException(name, null, 0, 0, "cannot read: " + e.getMessage());
        }
    }

    /** The field path of a parser position, as a spec names it ({@code model.layers[1]}). */
    private static String fieldOf(com.fasterxml.jackson.core.JsonStreamContext context) {
        List<Object> steps = new ArrayList<>();
        for (com.fasterxml.jackson.core.JsonStreamContext c = context; c != null && !c.inRoot(); c = c.getParent()) {
            steps.add(0, c.inArray() ? (Object) c.getCurrentIndex() : c.getCurrentName());
        }
        steps.removeIf(java.util.Objects::isNull);
        return pathString(steps);
    }

    /** The folder of the spec file {@code name}, or null when {@code name} is no file. */
    private static Path folderOf(String name) {
        try {
            Path p = Path.of(name);
            if (!Files.isRegularFile(p)) {
                return null;
            }
            return p.toAbsolutePath().normalize().getParent();
        } catch (java.nio.file.InvalidPathException e) {
            return null;
        }
    }

    /**
     * Where a relative {@code data.file} is: relative to the spec file's own folder, so a spec
     * works from any working directory. For specs written before this rule (paths relative to the
     * directory hesstrain was started in), a file that is not beside the spec but is in the
     * working directory is still found. A path given by {@code --set} is relative to the working
     * directory. The path found is written back absolute, so the spec saved in a run directory
     * loads from anywhere; a file found nowhere is left as written, for the loader's error.
     */
    static void resolveDataFile(ObjectNode root, Path specFolder, boolean fromOverride) {
        if (!(root.get("data") instanceof ObjectNode data) || !(data.get("file") instanceof TextNode t)) {
            return;
        }
        String file = t.asText();
        Path path;
        try {
            path = Path.of(file);
        } catch (java.nio.file.InvalidPathException e) {
            return;
        }
        if (file.isBlank() || path.isAbsolute()) {
            return;
        }
        Path work = path.toAbsolutePath().normalize();
        Path found = null;
        if (specFolder != null && !fromOverride && Files.exists(specFolder.resolve(path))) {
            found = specFolder.resolve(path).normalize();
        } else if (Files.exists(work)) {
            found = work;
        }
        if (found != null) {
            data.set("file", TextNode.valueOf(found.toString()));
        }
    }

    /** The spec as YAML, as written to a run directory. */
    public static String toYaml(Spec spec) {
        try {
            return YAML.writeValueAsString(spec);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** SHA-256 of the canonical JSON of the resolved spec. */
    public static String hash(Spec spec) {
        try {
            byte[] canonical = JSON.writeValueAsBytes(spec);
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(canonical));
        } catch (JsonProcessingException | NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectMapper mapperFor(String name, String text) {
        String lower = name.toLowerCase(Locale.ROOT);
        if (lower.endsWith(".json")) {
            return JSON;
        }
        if (lower.endsWith(".yaml") || lower.endsWith(".yml")) {
            return YAML;
        }
        return text.stripLeading().startsWith("{") ? JSON : YAML;
    }

    private static String stem(String name) {
        String base = Path.of(name).getFileName().toString();
        int dot = base.lastIndexOf('.');
        String s = dot > 0 ? base.substring(0, dot) : base;
        return s.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    // ---- overrides -------------------------------------------------------------------------

    /** Applies {@code path=value}; returns the normalised path. */
    static String applyOverride(ObjectNode root, String override) {
        int eq = override.indexOf('=');
        if (eq <= 0) {
            throw new SpecException("--set " + override, null, 0, 0, "expected path=value, such as train.epochs=5");
        }
        String path = override.substring(0, eq).trim();
        String raw = override.substring(eq + 1);
        if (raw.isBlank()) {
            throw new SpecException("--set " + override, null, 0, 0,
                    "no value after '='; give one, such as " + path + "=5 (write " + path + "='' for an empty text)");
        }
        JsonNode value;
        try {
            value = raw.isEmpty() ? TextNode.valueOf("") : YAML.readTree(raw);
        } catch (JsonProcessingException e) {
            value = TextNode.valueOf(raw);
        }
        if (value == null || value.isMissingNode()) {
            value = TextNode.valueOf(raw);
        }
        List<Object> steps = steps(path, override);
        JsonNode node = root;
        for (int i = 0; i < steps.size() - 1; i++) {
            Object step = steps.get(i);
            Object next = steps.get(i + 1);
            JsonNode child = step instanceof String s ? node.get(s) : node.get((Integer) step);
            if (child == null || child.isNull()) {
                if (step instanceof Integer) {
                    throw new SpecException("--set " + override, null, 0, 0, "index " + step + " is out of range");
                }
                child = next instanceof String ? JsonNodeFactory.instance.objectNode() : JsonNodeFactory.instance.arrayNode();
                ((ObjectNode) node).set((String) step, child);
            }
            checkContainer(child, next, override);
            node = child;
        }
        Object last = steps.get(steps.size() - 1);
        if (last instanceof String s) {
            ((ObjectNode) node).set(s, value);
        } else {
            ArrayNode arr = (ArrayNode) node;
            int idx = (Integer) last;
            if (idx < arr.size()) {
                arr.set(idx, value);
            } else if (idx == arr.size()) {
                arr.add(value);
            } else {
                throw new SpecException("--set " + override, null, 0, 0, "index " + idx + " is out of range");
            }
        }
        return pathString(steps);
    }

    private static void checkContainer(JsonNode child, Object next, String override) {
        if (next instanceof String && !child.isObject() || next instanceof Integer && !child.isArray()) {
            throw new SpecException(
                    "--set " + override, null, 0, 0,
                    "cannot set inside a " + child.getNodeType().toString().toLowerCase(Locale.ROOT));
        }
    }

    private static List<Object> steps(String path, String override) {
        List<Object> steps = new ArrayList<>();
        for (String part : path.split("\\.", -1)) {
            String p = part;
            int br = p.indexOf('[');
            String key = br < 0 ? p : p.substring(0, br);
            if (key.isEmpty() && br != 0) {
                throw new SpecException("--set " + override, null, 0, 0, "empty key in path '" + path + "'");
            }
            if (!key.isEmpty()) {
                steps.add(key);
            }
            while (br >= 0) {
                int close = p.indexOf(']', br);
                if (close < 0) {
                    throw new SpecException("--set " + override, null, 0, 0, "unclosed '[' in path '" + path + "'");
                }
                try {
                    steps.add(Integer.parseInt(p.substring(br + 1, close)));
                } catch (NumberFormatException e) {
                    throw new SpecException("--set " + override, null, 0, 0, "bad index in path '" + path + "'");
                }
                String rest = p.substring(close + 1);
                if (!rest.isEmpty() && rest.charAt(0) != '[') {
                    throw new SpecException("--set " + override, null, 0, 0, "unexpected '" + rest + "' after ']' in path '"
                            + path + "'; a key after an index follows a dot, as in " + p.substring(0, close + 1) + "." + rest);
                }
                br = rest.isEmpty() ? -1 : close + 1;
            }
        }
        return steps;
    }

    private static String pathString(List<?> steps) {
        StringBuilder sb = new StringBuilder();
        for (Object s : steps) {
            if (s instanceof Integer i) {
                sb.append('[').append(i).append(']');
            } else {
                if (sb.length() > 0) {
                    sb.append('.');
                }
                sb.append(s);
            }
        }
        return sb.toString();
    }

    // ---- errors ----------------------------------------------------------------------------

    private static SpecException describe(JsonMappingException e, JsonNode root) {
        List<Object> steps = new ArrayList<>();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                steps.add(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                steps.add(r.getIndex());
            }
        }
        String path = pathString(steps);
        if (e instanceof ValueInstantiationException && e.getCause() instanceof SpecException se) {
            return se.under(path);
        }
        if (e instanceof UnrecognizedPropertyException u) {
            String known = u.getKnownPropertyIds() == null
                    ? ""
                    : "; known keys: " + u.getKnownPropertyIds().stream().map(Object::toString).sorted()
                            .collect(Collectors.joining(", "));
            return new SpecException(path, "unknown key '" + u.getPropertyName() + "'" + known);
        }
        if (e instanceof InvalidFormatException f) {
            return new SpecException(path, "expected " + typeName(f.getTargetType()) + ", found '" + f.getValue() + "'");
        }
        String found = found(root.at(pointer(path)));
        if (e instanceof MismatchedInputException m && m.getTargetType() != null && m.getTargetType().isEnum()) {
            return new SpecException(path, "expected one of " + Arrays.stream(m.getTargetType().getEnumConstants())
                    .map(c -> Choices.id((Enum<?>) c)).collect(Collectors.joining(", ")) + found);
        }
        if (e instanceof MismatchedInputException m && m.getTargetType() != null) {
            return new SpecException(path, "expected " + typeName(m.getTargetType()) + found);
        }
        return new SpecException(path, "invalid value" + found);
    }

    /** ", found ..." for the value at a path, in the spec's words (no Java types, no parser tokens). */
    private static String found(JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return "";
        }
        String what;
        if (node.isObject()) {
            what = "a mapping" + (node.isEmpty() ? "" : " (keys " + String.join(", ", iterable(node.fieldNames())) + ")");
        } else if (node.isArray()) {
            what = "a list of " + node.size();
        } else if (node.isNull()) {
            what = "nothing (null)";
        } else if (node.isTextual()) {
            String t = node.asText();
            what = "the text '" + (t.length() > 60 ? t.substring(0, 60) + "..." : t) + "'";
        } else {
            what = node.asText();
        }
        return ", found " + what;
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> l = new ArrayList<>();
        it.forEachRemaining(l::add);
        return l;
    }

    private static String typeName(Class<?> c) {
        if (c == null) {
            return "another type";
        }
        if (c == Integer.class || c == int.class || c == Long.class || c == long.class) {
            return "an integer";
        }
        if (c == Double.class || c == double.class) {
            return "a number";
        }
        if (c == Boolean.class || c == boolean.class) {
            return "true or false";
        }
        if (c == String.class || c.isEnum()) {
            return "a string";
        }
        if (List.class.isAssignableFrom(c)) {
            return "a list";
        }
        return "a mapping (" + c.getSimpleName().replace("Spec", "").toLowerCase(Locale.ROOT) + ")";
    }

    /** A parser message on one line, without the echoed source snippets and their carets. */
    static String condense(String message) {
        if (message == null) {
            return "invalid syntax";
        }
        List<String> parts = new ArrayList<>();
        for (String l : message.split("\n")) {
            String t = l.strip();
            if (t.isEmpty() || t.startsWith("in 'reader'") || t.equals("^") || l.startsWith("    ")) {
                continue;
            }
            parts.add(t);
        }
        return String.join("; ", parts);
    }

    /**
     * An error about {@code field} of the spec text {@code text} from the file {@code name}, placed
     * at its line and column (or its nearest parent's) as the loader's own errors are: for checks
     * made after loading, such as those of a sweep's {@code sweep:} section.
     */
    public static SpecException errorAt(String name, String text, String field, String problem) {
        int[] lc = find(mapperFor(name, text).getFactory(), text, pointer(field));
        return new SpecException(name, field, lc[0], lc[1], problem);
    }

    /**
     * An error found after loading (the device, the data against the model) about a field that an
     * override set, named by that override instead of the file: {@code sin2pi.yaml (--set
     * device=gpu): device: ...}. Other errors are returned as they are.
     */
    public static SpecException byOverride(SpecException e, List<String> overrides) {
        if (e.field() == null || e.field().isEmpty() || e.line() > 0 || e.file() == null || e.file().contains("(--set ")) {
            return e;
        }
        for (int i = overrides.size() - 1; i >= 0; i--) { // the last override of a field is the one that holds
            String o = overrides.get(i);
            int eq = o.indexOf('=');
            if (eq > 0 && within(e.field(), pathString(steps(o.substring(0, eq).trim(), o)))) {
                return new SpecException(e.file() + " (--set " + o + ")", e.field(), 0, 0, e.problem());
            }
        }
        return e;
    }

    /** Places an error in the file: at the field if it is there, else at its nearest parent. */
    private static SpecException locate(
            String name, String text, ObjectMapper mapper, SpecException e, Map<String, String> overridden) {
        String field = e.field() == null ? "" : e.field();
        for (Map.Entry<String, String> o : overridden.entrySet()) {
            if (within(field, o.getKey()) || !field.isEmpty() && within(o.getKey(), field) && !inText(mapper, text, field)) {
                return new SpecException(name + " (--set " + o.getValue() + ")", field, 0, 0, e.problem());
            }
        }
        int[] lc = find(mapper.getFactory(), text, pointer(field));
        return e.in(name, lc[0], lc[1]);
    }

    /** Whether the spec text itself has the field (not only an override). */
    private static boolean inText(ObjectMapper mapper, String text, String field) {
        try {
            return !mapper.readTree(text).at(pointer(field)).isMissingNode();
        } catch (JsonProcessingException e) {
            return false;
        }
    }

    /** Whether {@code path} is {@code ancestor} or lies inside it. */
    private static boolean within(String path, String ancestor) {
        return path.equals(ancestor) || path.startsWith(ancestor + ".") || path.startsWith(ancestor + "[");
    }

    private static JsonPointer pointer(String field) {
        if (field.isEmpty()) {
            return JsonPointer.empty();
        }
        String p = "/" + field.replace("[", "/").replace("]", "").replace(".", "/");
        return JsonPointer.compile(p);
    }

    /** Line and column of the value at {@code target} or its deepest present ancestor. */
    static int[] find(JsonFactory factory, String text, JsonPointer target) {
        int[] best = {0, 0};
        int bestDepth = -1;
        try (JsonParser p = factory.createParser(text)) {
            JsonToken t;
            while ((t = p.nextToken()) != null) {
                if (t == JsonToken.FIELD_NAME && p.getParsingContext().pathAsPointer().equals(target)) {
                    JsonLocation loc = p.currentTokenLocation();
                    return new int[] {line(loc), column(loc)};
                }
                if (t == JsonToken.FIELD_NAME || t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                    continue;
                }
                JsonPointer here = p.getParsingContext().pathAsPointer();
                if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                    here = p.getParsingContext().getParent() == null
                            ? JsonPointer.empty()
                            : p.getParsingContext().getParent().pathAsPointer();
                }
                int depth = depthOfPrefix(here, target);
                if (depth > bestDepth) {
                    JsonLocation loc = p.currentTokenLocation();
                    bestDepth = depth;
                    best = new int[] {line(loc), column(loc)};
                }
            }
        } catch (IOException e) {
            // the text parsed once already; keep what was found
        }
        return best;
    }

    /** The number of segments of {@code here} if it is a prefix of {@code target}, else -1. */
    private static int depthOfPrefix(JsonPointer here, JsonPointer target) {
        String h = here.toString();
        String t = target.toString();
        if (t.equals(h) || t.startsWith(h + "/") || h.isEmpty()) {
            return h.isEmpty() ? 0 : h.split("/").length - 1;
        }
        return -1;
    }

    private static int line(JsonLocation loc) {
        return loc == null ? 0 : Math.max(loc.getLineNr(), 0);
    }

    private static int column(JsonLocation loc) {
        return loc == null ? 0 : Math.max(loc.getColumnNr(), 0);
    }
}
