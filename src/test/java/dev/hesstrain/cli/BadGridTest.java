package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Golden files for bad grids: each grids/bad/NAME.args holds the arguments of {@code hesstrain sweep}
 * one per line; the sweep must exit with 2 before anything trains, and print exactly NAME.expected
 * on stderr. -Dgolden.update=true rewrites the .expected files after a deliberate change.
 */
class BadGridTest {
    static final Path DIR = Path.of("src/test/resources/grids/bad");

    static Stream<Path> cases() throws IOException {
        try (Stream<Path> files = Files.list(DIR)) {
            return files.filter(p -> p.toString().endsWith(".args")).sorted().toList().stream();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void exitsWithTwoAndTheGoldenMessage(Path args) throws IOException {
        List<String> a = new java.util.ArrayList<>(List.of("sweep"));
        a.addAll(Files.readAllLines(args, StandardCharsets.UTF_8));
        a.addAll(List.of("--out", "target/bad-grid-never-written"));
        CliRunner cli = new CliRunner();
        int code = cli.run(a.toArray(String[]::new));
        Path expected = Path.of(args.toString().replace(".args", ".expected"));
        if (Boolean.getBoolean("golden.update")) {
            Files.writeString(expected, cli.err(), StandardCharsets.UTF_8);
        }
        assertEquals(ExitCodes.USAGE, code, cli.err());
        assertEquals(Files.readString(expected, StandardCharsets.UTF_8).strip(), cli.err().strip());
        assertEquals(false, Files.exists(Path.of("target/bad-grid-never-written")), "nothing is written");
    }
}
