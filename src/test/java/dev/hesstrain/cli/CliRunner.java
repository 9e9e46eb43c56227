package dev.hesstrain.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the real command line in-process, as {@code main} builds it, and keeps its output. */
final class CliRunner {
    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    int run(String... args) {
        return Cli.create(new PrintWriter(out, true), new PrintWriter(err, true)).execute(args);
    }

    String out() {
        return out.toString();
    }

    String err() {
        return err.toString();
    }
}
