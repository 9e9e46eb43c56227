package dev.hesstrain.runs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/**
 * The run directory shared by {@code train} and {@code inspect-hessian}: its file names, and its
 * creation. Every file in it is written atomically (see {@link AtomicFiles}).
 */
public final class RunDirectory {
    public static final String SPEC = "spec.yaml";
    public static final String METRICS = "metrics.csv";
    public static final String SUMMARY = "summary.json";
    public static final String WEIGHTS = "model.safetensors";
    public static final String DATA = "data.npz";
    public static final String LOSS_PLOT = "loss.png";
    public static final String HESSIAN_PLOT = "hessian.png";
    public static final String LOG = "train.log";
    public static final String INSPECT = "inspect";

    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

    private final Path path;

    private RunDirectory(Path path) {
        this.path = path;
    }

    /**
     * Creates {@code out} if given, else {@code runsRoot/<name>-<timestamp>} (with a numeric suffix
     * if that exists). Fails with a message when the directory cannot be created or written.
     */
    public static RunDirectory create(Path runsRoot, String name, Path out) throws IOException {
        Path dir;
        if (out != null) {
            dir = out;
            if (Files.exists(dir) && !Files.isDirectory(dir)) {
                throw new IOException(dir + " exists and is not a directory");
            }
        } else {
            String base = name + "-" + LocalDateTime.now().format(STAMP);
            dir = runsRoot.resolve(base);
            for (int i = 2; Files.exists(dir); i++) {
                dir = runsRoot.resolve(base + "-" + i);
            }
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IOException("cannot create the run directory " + dir + ": " + describe(e), e);
        }
        Path probe = dir.resolve(".write-test");
        try {
            Files.writeString(probe, "");
            Files.delete(probe);
        } catch (IOException e) {
            throw new IOException("the run directory " + dir + " is not writable: " + describe(e), e);
        }
        return new RunDirectory(dir);
    }

    /** Opens an existing run; it must hold a spec and weights. */
    public static RunDirectory open(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException("no run directory at " + dir);
        }
        for (String f : new String[] {SPEC, WEIGHTS}) {
            if (!Files.isRegularFile(dir.resolve(f))) {
                throw new IOException(dir + " is not a run directory: it has no " + f);
            }
        }
        return new RunDirectory(dir);
    }

    private static String describe(IOException e) {
        String cls = e.getClass().getSimpleName();
        return switch (cls) {
            case "AccessDeniedException" -> "permission denied";
            case "FileSystemException", "ReadOnlyFileSystemException" -> e.getMessage();
            default -> e.getMessage() == null ? cls : e.getMessage();
        };
    }

    public Path path() {
        return path;
    }

    public Path file(String name) {
        return path.resolve(name);
    }
}
