package dev.hesstrain;

import dev.hesstrain.cli.Cli;
import java.io.PrintWriter;

/** Entry point: builds the command line and exits with its code. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        // Nothing may download at run time: DJL loads PyTorch from the jars on the class path.
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        System.setProperty("java.awt.headless", "true");
        int code = Cli.create(new PrintWriter(System.out, true), new PrintWriter(System.err, true)).execute(args);
        System.exit(code);
    }
}
