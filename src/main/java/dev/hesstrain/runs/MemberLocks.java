package dev.hesstrain.runs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The locks of a sweep's members, all in ONE file, {@code members/.members.lock}: member i is
 * claimed by an OS lock on bytes [16 i, 16 i + 16) of it, which hold the claiming process's pid.
 * A sweep of 10,000 members so holds one descriptor, not one per member (a {@code .lock} per member
 * directory ran out of descriptors at a few hundred members), and shards, whose members are
 * disjoint, lock disjoint ranges of the same file.
 *
 * <p>{@code train} on a member directory ({@code train --resume members/X}) keeps out of a sweep
 * that trains it and the other way round, with no descriptor held beyond each one's own lock:
 * {@link RunDirectory#claim} takes the directory's {@code .lock} and then checks the member's range
 * here ({@link #checkFree}); a sweep takes the range and then checks the directory's {@code .lock}
 * (in {@link #claim}). Whichever checks second sees the other's lock, so the two never both go on.
 */
public final class MemberLocks implements AutoCloseable {
    /** The lock file's name, in the folder that holds the member directories. */
    public static final String FILE = ".members.lock";
    private static final int SLOT = 16;
    /** A member directory's name starts with its index: {@code 007-lambda=0.001-seed=1}. */
    private static final Pattern INDEX = Pattern.compile("^(\\d+)(-|$)");

    /** The lock files this JVM holds open: a second channel's close would drop their POSIX locks. */
    private static final java.util.Map<Path, MemberLocks> OPEN = new java.util.concurrent.ConcurrentHashMap<>();

    private final Path folder;
    private final FileChannel channel;
    private final List<FileLock> held = new ArrayList<>();

    private MemberLocks(Path folder, FileChannel channel) {
        this.folder = folder;
        this.channel = channel;
    }

    /** Opens (creating) the lock file of the member directories in {@code folder}; locks nothing yet. */
    public static MemberLocks open(Path folder) throws IOException {
        Files.createDirectories(folder);
        Path key = folder.toAbsolutePath().normalize();
        if (OPEN.containsKey(key)) {
            throw inUse(folder, ProcessHandle.current().pid() + "");
        }
        try {
            MemberLocks locks = new MemberLocks(key, FileChannel.open(folder.resolve(FILE), StandardOpenOption.CREATE,
                    StandardOpenOption.READ, StandardOpenOption.WRITE));
            OPEN.put(key, locks);
            return locks;
        } catch (IOException e) {
            throw new IOException("the sweep directory " + folder + " is not writable: " + e.getMessage(), e);
        }
    }

    /**
     * Claims member {@code index}, whose directory is {@code dir} (in this lock's folder), until
     * {@link #close}: its range here, then a look at the directory's own {@code .lock} (a {@code
     * train} of it). Fails with {@link RunDirectory.InUse} naming the process that holds either.
     */
    public void claim(int index, Path dir) throws IOException {
        FileLock lock;
        try {
            lock = channel.tryLock((long) index * SLOT, SLOT, false);
        } catch (OverlappingFileLockException e) {
            throw inUse(dir, ProcessHandle.current().pid() + "");
        }
        if (lock == null) {
            throw inUse(dir, pidAt(channel, index));
        }
        held.add(lock);
        byte[] pid = String.format("%-15s\n", ProcessHandle.current().pid()).getBytes(StandardCharsets.US_ASCII);
        channel.write(ByteBuffer.wrap(pid), (long) index * SLOT);
        Path own = dir.resolve(RunDirectory.LOCK);
        if (Files.isRegularFile(own)) {
            try (FileChannel c = FileChannel.open(own, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                FileLock l;
                try {
                    l = c.tryLock();
                } catch (OverlappingFileLockException e) {
                    throw inUse(dir, ProcessHandle.current().pid() + "");
                }
                if (l == null) {
                    throw inUse(dir, Files.readString(own, StandardCharsets.US_ASCII).strip());
                }
                l.release();
            }
        }
    }

    /**
     * For {@link RunDirectory#claim}, which holds {@code dir}'s own lock: fails with {@link
     * RunDirectory.InUse} when {@code dir} is a member directory that a sweep holds now. Holds
     * nothing after it returns.
     */
    static void checkFree(Path dir) throws IOException {
        Path parent = dir.toAbsolutePath().normalize().getParent();
        Matcher m = INDEX.matcher(dir.getFileName() == null ? "" : dir.getFileName().toString());
        if (parent == null || !m.find() || !Files.isRegularFile(parent.resolve(FILE))) {
            return;
        }
        long index = Long.parseLong(m.group(1));
        MemberLocks mine = OPEN.get(parent);
        if (mine != null) { // this JVM's own sweep: its locks, not a second channel that would drop them on close
            if (mine.held.stream().anyMatch(l -> l.isValid() && l.position() == index * SLOT)) {
                throw inUse(dir, ProcessHandle.current().pid() + "");
            }
            return;
        }
        try (FileChannel c = FileChannel.open(parent.resolve(FILE), StandardOpenOption.READ)) {
            FileLock l;
            try {
                l = c.tryLock(index * SLOT, SLOT, true);
            } catch (OverlappingFileLockException e) {
                throw inUse(dir, ProcessHandle.current().pid() + "");
            }
            if (l == null) {
                throw inUse(dir, pidAt(c, index));
            }
            l.release();
        }
    }

    private static String pidAt(FileChannel c, long index) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(SLOT);
        c.read(b, index * SLOT);
        return new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).strip();
    }

    private static RunDirectory.InUse inUse(Path dir, String pid) {
        return new RunDirectory.InUse(dir + " is in use by another hesstrain process" + (pid.isEmpty() ? "" : " (pid " + pid + ")")
                + "; give another --out, or wait until it ends");
    }

    /** The folder whose members this file locks. */
    public Path folder() {
        return folder;
    }

    /** Releases every claim (the file stays: deleting it would let two sweeps lock different files). */
    @Override
    public void close() throws IOException {
        try {
            for (FileLock l : held) {
                if (l.isValid()) {
                    l.release();
                }
            }
        } finally {
            OPEN.remove(folder, this);
            channel.close();
        }
    }
}
