package dev.hesstrain.runs;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Crash-safe file writes: the content goes to a temporary sibling file ({@code .<name>.tmp-<random>}), is
 * fsynced, and is then renamed over the target in one atomic step. Readers therefore see either the old
 * file or the complete new one, never a partial write. Missing parent directories are created.
 */
public final class AtomicFiles {

    /** A consumer that may throw {@link IOException}. */
    @FunctionalInterface
    public interface IoConsumer<T> {
        void accept(T value) throws IOException;
    }

    private static final SecureRandom RANDOM = new SecureRandom();
    /** Temporary files of writes in progress, for {@link #deleteInFlight}. */
    private static final Set<Path> IN_FLIGHT = ConcurrentHashMap.newKeySet();
    /** Guards the creation of temporary files against {@link #deleteInFlight}. */
    private static final Object CREATION = new Object();
    private static boolean ending;

    private AtomicFiles() {}

    /** Atomically replaces {@code target} with {@code bytes}. */
    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, out -> out.write(bytes));
    }

    /** Atomically replaces {@code target} with {@code text} encoded as UTF-8. */
    public static void writeString(Path target, String text) throws IOException {
        write(target, text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Atomically replaces {@code target} with whatever {@code writer} writes to the (buffered) stream it is
     * given. If the writer throws, the temporary file is deleted, the target is left untouched, and the
     * exception is rethrown. Closing the stream inside the writer is allowed and only flushes it.
     */
    public static void write(Path target, IoConsumer<OutputStream> writer) throws IOException {
        Path tmp = tempSibling(target);
        try {
            try (FileChannel channel = create(tmp)) {
                OutputStream out = new NonClosingOutputStream(
                        new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16));
                writer.accept(out);
                out.flush();
                channel.force(true);
            }
            commit(tmp, target);
        } catch (Throwable t) {
            deleteQuietly(tmp);
            throw t;
        }
    }

    /**
     * Deletes the temporary files of the writes in progress in this process, for a process about
     * to end at once (a second Ctrl-C): their targets keep their last complete version. From then on
     * {@link #create} refuses, so that no writer thread creates a temporary file after the sweep.
     */
    public static void deleteInFlight() {
        synchronized (CREATION) {
            ending = true;
            for (Path p : IN_FLIGHT) {
                deleteQuietly(p);
            }
        }
    }

    /**
     * Creates the temporary file {@code tmp} (from {@link #tempSibling}) and opens it for writing;
     * refused once the process is ending ({@link #deleteInFlight}).
     */
    public static FileChannel create(Path tmp) throws IOException {
        synchronized (CREATION) {
            if (ending) {
                IN_FLIGHT.remove(tmp);
                throw new IOException("the process is ending: " + tmp + " is not created");
            }
            return FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        }
    }

    /**
     * Returns a fresh, not yet existing temporary path next to {@code target} (same directory, so the final
     * rename stays on one file system), creating the parent directory if needed.
     */
    public static Path tempSibling(Path target) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null) {
            throw new IOException("Cannot write to a file system root: " + target);
        }
        Files.createDirectories(dir);
        byte[] suffix = new byte[6];
        RANDOM.nextBytes(suffix);
        Path tmp = dir.resolve("." + abs.getFileName() + ".tmp-" + HexFormat.of().formatHex(suffix));
        IN_FLIGHT.add(tmp); // until committed or deleted
        return tmp;
    }

    /**
     * Moves a finished (already fsynced) temporary file over {@code target}, atomically where the file
     * system allows it, then makes the rename durable by syncing the directory (best effort).
     */
    public static void commit(Path tmp, Path target) throws IOException {
        IN_FLIGHT.remove(tmp);
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
        Path dir = target.toAbsolutePath().getParent();
        try (FileChannel dirChannel = FileChannel.open(dir, StandardOpenOption.READ)) {
            dirChannel.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Directory sync is not possible on every platform; the rename itself has already happened.
        }
    }

    /** Deletes {@code path} if it exists, ignoring any error. */
    public static void deleteQuietly(Path path) {
        if (path == null) {
            return;
        }
        IN_FLIGHT.remove(path);
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            // best effort
        }
    }

    /** Passes writes through but turns {@code close()} into {@code flush()}. */
    private static final class NonClosingOutputStream extends FilterOutputStream {
        NonClosingOutputStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            out.flush();
        }
    }
}
