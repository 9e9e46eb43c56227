package dev.hesstrain.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Golden files for bad specs: every file under specs/bad must fail with exactly the message in its
 * .expected twin (file, line:column where the file has one, field path, problem). Run with
 * -Dgolden.update=true to rewrite the .expected files after a deliberate change, then review them.
 */
class BadSpecTest {
    static final Path DIR = Path.of("src/test/resources/specs/bad");

    static Stream<Path> badSpecs() throws IOException {
        try (Stream<Path> files = Files.list(DIR)) {
            return files.filter(p -> !p.toString().endsWith(".expected")).sorted().toList().stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badSpecs")
    void failsWithTheGoldenMessage(Path spec) throws IOException {
        SpecException e = assertThrows(SpecException.class, () -> SpecLoader.load(spec, List.of()));
        Path expected = Path.of(spec + ".expected");
        if (Boolean.getBoolean("golden.update")) {
            Files.writeString(expected, e.getMessage() + "\n", StandardCharsets.UTF_8);
        }
        assertEquals(Files.readString(expected, StandardCharsets.UTF_8).strip(), e.getMessage());
        for (String internal : List.of("dev.hesstrain", "java.", "JsonToken", "Cannot construct", "`")) {
            assertFalse(e.getMessage().contains(internal), "a Java internal in: " + e.getMessage());
        }
    }
}
