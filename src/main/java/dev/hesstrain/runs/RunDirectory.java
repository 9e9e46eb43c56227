package dev.hesstrain.runs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.stream.Stream;

/**
 * The run directory shared by {@code train} and {@code inspect-hessian}: its file names, and its
 * creation. A directory {@linkplain #claim claimed} belongs to one run: an OS file lock on its
 * {@code .lock} file is held until {@link #close} (or the process ends, however it ends), so a
 * second process that claims it fails at once; a directory that already holds files is refused
 * unless the claim overwrites it or resumes the run in it. Every file in it is written atomically
 * (see {@link AtomicFiles}), but for the run's log, which grows as the run goes.
 */
public final class RunDirectory implements AutoCloseable {
    public static final String SPEC = "spec.yaml";
    public static final String METRICS = "metrics.csv";
    public static final String SUMMARY = "summary.json";
    public static final String WEIGHTS = "model.safetensors";
    public static final String DATA = "data.npz";
    /** The weights, the optimizer's state and the loop's position, for {@code train --resume}. */
    public static final String CHECKPOINT = "checkpoint.safetensors";
    public static final String LOSS_PLOT = "loss.png";
    public static final String HESSIAN_PLOT = "hessian.png";
    /** The monitored sharpness (and parameter-Hessian trace) per epoch, for runs with a {@code monitor} section. */
    public static final String SHARPNESS_PLOT = "sharpness.png";
    /** Training and validation accuracy per epoch, for classifiers only. */
    public static final String ACCURACY_PLOT = "accuracy.png";
    public static final String LOG = "train.log";
    public static final String INSPECT = "inspect";
    /** The lock file; it stays in the directory (deleting it would let two runs lock different files). */
    public static final String LOCK = ".lock";

    /** How a claim treats what the directory already holds. */
    public enum Mode {
        /** The directory must be new or empty. */
        NEW,
        /** Whatever the directory holds is deleted first. */
        OVERWRITE,
        /** The directory holds a run that this one continues: its files stay. */
        RESUME
    }

    /** A claim refused because the directory already holds files. */
    public static final class NotEmpty extends IOException {
        private static final long serialVersionUID = 1L;

        NotEmpty(String message) {
            super(message);
        }
    }

    /** A claim refused because another process holds the directory. */
    public static final class InUse extends IOException {
        private static final long serialVersionUID = 1L;

        InUse(String message) {
            super(message);
        }
    }

    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

    private final Path path;
    private final Mode mode;
    private final FileChannel lockChannel;
    private final FileLock lock;
    /** Claimed through a sweep's {@link MemberLocks}. */
    private final boolean heldElsewhere;

    private RunDirectory(Path path, Mode mode, FileChannel lockChannel, FileLock lock) {
        this(path, mode, lockChannel, lock, false);
    }

    private RunDirectory(Path path, Mode mode, FileChannel lockChannel, FileLock lock, boolean heldElsewhere) {
        this.path = path;
        this.mode = mode;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.heldElsewhere = heldElsewhere;
    }

    /**
     * Claims {@code out} if given, else a new {@code runsRoot/<name>-<timestamp>} (with a numeric
     * suffix if that exists), for one run: see {@link #claim}.
     */
    public static RunDirectory claim(Path runsRoot, String name, Path out, Mode mode) throws IOException {
        if (out != null) {
            return claim(out, mode);
        }
        String base = name + "-" + LocalDateTime.now().format(STAMP);
        try {
            Files.createDirectories(runsRoot);
        } catch (IOException e) {
            throw new IOException("cannot create the run directory " + runsRoot + ": " + describe(e), e);
        }
        for (int i = 1;; i++) {
            Path dir = runsRoot.resolve(i == 1 ? base : base + "-" + i);
            try {
                Files.createDirectory(dir); // atomic: two runs started in the same second get two directories
            } catch (FileAlreadyExistsException e) {
                continue;
            } catch (IOException e) {
                throw new IOException("cannot create the run directory " + dir + ": " + describe(e), e);
            }
            return claim(dir, Mode.NEW);
        }
    }

    /**
     * Claims {@code dir} for one run, creating it if needed: locks it (an {@link InUse} error names
     * the process that holds it), then, for {@link Mode#NEW}, refuses a directory that holds files
     * ({@link NotEmpty}, naming them), and for {@link Mode#OVERWRITE} deletes them. The lock is held
     * until {@link #close}.
     */
    public static RunDirectory claim(Path dir, Mode mode) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IOException(dir + " exists and is not a directory");
        }
        if (mode == Mode.RESUME && !Files.isDirectory(dir)) {
            throw new IOException("no run directory at " + dir);
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IOException("cannot create the run directory " + dir + ": " + describe(e), e);
        }
        FileChannel channel;
        try {
            channel = FileChannel.open(dir.resolve(LOCK), StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new IOException("the run directory " + dir + " is not writable: " + describe(e), e);
        }
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null; // held by this process
        } catch (IOException e) {
            channel.close();
            throw new IOException("cannot lock the run directory " + dir + ": " + describe(e), e);
        }
        if (lock == null) {
            String holder = holder(dir);
            channel.close();
            throw new InUse(dir + " is in use by another hesstrain process" + holder
                    + "; give another --out, or wait until it ends");
        }
        try {
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)));
            channel.force(true);
            MemberLocks.checkFree(dir); // a sweep's member that the sweep trains now
            List<Path> held = contents(dir);
            if (!held.isEmpty() && mode == Mode.NEW) {
                throw new NotEmpty("the output directory " + dir + " is not empty (it holds " + names(held)
                        + "): give --overwrite to replace its contents");
            }
            if (mode == Mode.OVERWRITE) {
                for (Path p : held) {
                    deleteTree(p);
                }
            }
            return new RunDirectory(dir, mode, channel, lock);
        } catch (NotEmpty | InUse | RuntimeException e) {
            lock.release();
            channel.close();
            throw e;
        } catch (IOException e) {
            lock.release();
            channel.close();
            throw new IOException("the run directory " + dir + " is not writable: " + describe(e), e);
        }
    }

    /**
     * A sweep member's directory, created if needed, whose claim is held by the sweep's {@link
     * MemberLocks} (one descriptor for all members) instead of a lock of its own.
     */
    public static RunDirectory member(Path dir, MemberLocks locks, boolean resume) throws IOException {
        if (!dir.toAbsolutePath().normalize().getParent().equals(locks.folder())) {
            throw new IllegalArgumentException(dir + " is not in " + locks.folder());
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IOException("cannot create the run directory " + dir + ": " + describe(e), e);
        }
        return new RunDirectory(dir, resume ? Mode.RESUME : Mode.OVERWRITE, null, null, true);
    }

    /** Deletes everything the claimed directory holds but its lock (what {@link Mode#OVERWRITE} does at the claim). */
    public void clear() throws IOException {
        if (lock == null && !heldElsewhere) {
            throw new IllegalStateException(path + " is not claimed");
        }
        for (Path p : contents(path)) {
            deleteTree(p);
        }
    }

    /**
     * An output directory without a claim: {@code out} if given, else {@code runsRoot/<name>-<timestamp>}
     * (with a numeric suffix if that exists). Fails with a message when the directory cannot be
     * created or written. For inspect output folders until they are claimed as runs are.
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
        return new RunDirectory(dir, Mode.NEW, null, null);
    }

    private static String holder(Path dir) {
        try {
            String pid = Files.readString(dir.resolve(LOCK), StandardCharsets.US_ASCII).strip();
            return pid.isEmpty() ? "" : " (pid " + pid + ")";
        } catch (IOException e) {
            return "";
        }
    }

    private static List<Path> contents(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> !p.getFileName().toString().equals(LOCK)).sorted().toList();
        }
    }

    private static String names(List<Path> held) {
        List<String> names = held.stream().map(p -> p.getFileName().toString()).limit(5).toList();
        return String.join(", ", names) + (held.size() > 5 ? ", and " + (held.size() - 5) + " more" : "");
    }

    private static void deleteTree(Path p) throws IOException {
        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> s = Files.list(p)) {
                for (Path c : s.toList()) {
                    deleteTree(c);
                }
            }
        }
        Files.delete(p);
    }

    /** How this directory was claimed. */
    public Mode mode() {
        return mode;
    }

    /** Releases the lock (the lock file stays). */
    @Override
    public void close() throws IOException {
        if (lockChannel != null) {
            try {
                lock.release();
            } finally {
                lockChannel.close();
            }
        }
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
        return new RunDirectory(dir, Mode.RESUME, null, null);
    }

    private static String describe(IOException e) {
        if (e instanceof java.nio.file.FileAlreadyExistsException f && f.getFile() != null) {
            // createDirectories met something that is not a directory: most often a dangling link
            Path there = Path.of(f.getFile());
            try {
                if (Files.isSymbolicLink(there)) {
                    return there + " is a symbolic link to " + Files.readSymbolicLink(there) + ", which does not exist"
                            + " (create that directory, or remove the link)";
                }
            } catch (IOException ignored) {
                // fall through to the plain reason
            }
            return there + " exists and is not a directory";
        }
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
