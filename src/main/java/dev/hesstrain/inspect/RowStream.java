package dev.hesstrain.inspect;

import dev.hesstrain.runs.AtomicFiles;
import dev.hesstrain.runs.Npy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * A float32 matrix written to a .npy file row batch by row batch, by a background thread, so that
 * the next rows are computed while the last ones go to disk. Callers (one or several threads)
 * take a free buffer, fill whole rows into it and submit it; the writer thread writes them at
 * their place in the file, in whatever order they come, shows them to a {@link Sink} for
 * statistics, and returns the buffer. Only a few row batches are ever held, never the matrix. The file is written to a temporary sibling, synced, and renamed over the
 * target on {@link #close()}, like every file of a run (see {@link AtomicFiles}); the header is
 * byte-for-byte what {@code numpy.save} writes, as {@link dev.hesstrain.runs.Npy} does.
 */
final class RowStream implements AutoCloseable {
    /** Sees every batch of rows, on the writer thread, in order. */
    interface Sink {
        /** Rows firstRow.. of the batch, row-major from index 0 of {@code values} (batches in any order). */
        void rows(int firstRow, int count, FloatBuffer values);
    }

    /** A batch buffer: direct memory, little-endian, so that it goes to the file as it is. */
    record Buffer(ByteBuffer bytes, FloatBuffer floats, DoubleBuffer doubles) {}

    private record Batch(Buffer buffer, int firstRow, int count) {}

    private static final Batch END = new Batch(null, -1, 0);

    private final Path target;
    private final Path tmp;
    private final FileChannel channel;
    private final long rows;
    private final int cols;
    private final Sink sink;
    private final BlockingQueue<Buffer> free;
    private final BlockingQueue<Batch> queue;
    private final Thread writer;
    private volatile Throwable failure;
    private final long dataOffset;
    private final int itemSize;
    private final java.util.BitSet seen = new java.util.BitSet();
    private long submitted;
    private boolean closed;
    private long writeNanos;
    private long sinkNanos;
    private long waitNanos;
    private long syncNanos;

    /**
     * @param rows the rows the file will hold
     * @param cols floats per row
     * @param batchRows rows per buffer
     * @param buffers how many buffers circulate (2 or more, so that writing overlaps computing; 1
     *     when rows are written by {@link #write} and the buffers go unused)
     * @param writerThread whether a background thread writes; without it, {@link #submit} writes in
     *     the caller's thread (several callers write in parallel, at their rows' places)
     */
    RowStream(Path target, long rows, int cols, int batchRows, int buffers, Sink sink, boolean writerThread)
            throws IOException {
        this(target, Npy.F4, rows, cols, batchRows, buffers, sink, writerThread);
    }

    /** As above, of dtype {@code descr}: {@link Npy#F4} (fill the buffers' floats) or {@link Npy#F8} (their doubles). */
    RowStream(Path target, String descr, long rows, int cols, int batchRows, int buffers, Sink sink,
            boolean writerThread) throws IOException {
        this.target = target;
        this.itemSize = switch (descr) {
            case Npy.F4 -> Float.BYTES;
            case Npy.F8 -> Double.BYTES;
            default -> throw new IllegalArgumentException("rows of float32 or float64, not " + descr);
        };
        this.rows = rows;
        this.cols = cols;
        this.sink = sink;
        this.tmp = AtomicFiles.tempSibling(target);
        this.channel = AtomicFiles.create(tmp);
        this.free = new ArrayBlockingQueue<>(buffers);
        this.queue = new ArrayBlockingQueue<>(buffers + 1);
        for (int i = 0; i < buffers; i++) {
            ByteBuffer bytes = ByteBuffer.allocateDirect(batchRows * cols * itemSize).order(ByteOrder.LITTLE_ENDIAN);
            free.add(new Buffer(bytes, bytes.asFloatBuffer(), bytes.asDoubleBuffer()));
        }
        byte[] header = Npy.header(descr, new long[] {rows, cols});
        this.dataOffset = header.length;
        try {
            writeFully(ByteBuffer.wrap(header), 0);
        } catch (IOException e) {
            abort();
            throw e;
        }
        if (writerThread) {
            this.writer = new Thread(this::drain, "hessian-row-writer");
            writer.setDaemon(true);
            writer.start();
        } else {
            this.writer = null;
        }
    }

    RowStream(Path target, long rows, int cols, int batchRows, int buffers, Sink sink) throws IOException {
        this(target, rows, cols, batchRows, buffers, sink, true);
    }

    /** A free buffer for the next batch (waits while all are being written); fill its floats from index 0. */
    Buffer take() throws IOException {
        check();
        try {
            long t0 = System.nanoTime();
            Buffer b = free.take();
            synchronized (this) {
                waitNanos += System.nanoTime() - t0;
            }
            check();
            return b;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while writing " + target, e);
        }
    }

    /** Marks rows firstRow.. as submitted; refuses rows out of range or written already. */
    private void claim(int firstRow, int count) throws IOException {
        check();
        synchronized (this) {
            if (firstRow < 0 || count < 1 || firstRow + (long) count > rows
                    || seen.nextSetBit(firstRow) >= 0 && seen.nextSetBit(firstRow) < firstRow + count) {
                throw new IllegalStateException("rows " + firstRow + ".." + (firstRow + count - 1) + " of " + rows
                        + " are out of range or were written already");
            }
            seen.set(firstRow, firstRow + count);
            submitted += count;
        }
    }

    /** Queues rows firstRow.. firstRow+count-1, held in {@code buffer}, for writing. */
    void submit(Buffer buffer, int firstRow, int count) throws IOException {
        claim(firstRow, count);
        if (writer == null) {
            try {
                writeBatch(new Batch(buffer, firstRow, count));
            } catch (IOException | RuntimeException e) {
                failure = e;
                check();
            } finally {
                free.offer(buffer);
            }
            return;
        }
        put(new Batch(buffer, firstRow, count));
    }

    /** Whether {@link #submit} writes in the caller's thread, so that {@link #write} may be used. */
    boolean writesInCaller() {
        return writer == null;
    }

    /**
     * Writes rows firstRow.. firstRow+count-1 straight from {@code values} (little-endian, from its
     * position 0; the memory of an engine array, say), without a buffer of the stream: only when
     * {@link #writesInCaller()}, since nothing holds {@code values} after the call.
     */
    void write(ByteBuffer values, int firstRow, int count) throws IOException {
        if (writer != null) {
            throw new IllegalStateException("rows are written by the writer thread: take() a buffer and submit() it");
        }
        if (values.order() != ByteOrder.LITTLE_ENDIAN || values.capacity() < (long) count * cols * itemSize) {
            throw new IllegalArgumentException("rows need " + (long) count * cols * itemSize
                    + " little-endian bytes, found " + values.capacity() + " " + values.order());
        }
        claim(firstRow, count);
        try {
            writeBatch(new Batch(new Buffer(values, values.asFloatBuffer(), values.asDoubleBuffer()), firstRow, count));
        } catch (IOException | RuntimeException e) {
            failure = e;
            check();
        }
    }

    private void put(Batch b) throws IOException {
        try {
            queue.put(b);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while writing " + target, e);
        }
    }

    private void drain() {
        try {
            while (true) {
                Batch b = queue.take();
                if (b == END) {
                    return;
                }
                if (failure == null) {
                    writeBatch(b);
                }
                free.put(b.buffer());
            }
        } catch (Throwable t) {
            failure = t;
            free.offer(new Buffer(ByteBuffer.allocate(0), FloatBuffer.allocate(0), DoubleBuffer.allocate(0))); // wake a waiting take()
        }
    }

    private void writeBatch(Batch b) throws IOException {
        long t0 = System.nanoTime();
        ByteBuffer bytes = b.buffer().bytes().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        bytes.clear();
        bytes.limit(b.count() * cols * itemSize);
        writeFully(bytes, dataOffset + (long) b.firstRow() * cols * itemSize);
        long t1 = System.nanoTime();
        sink.rows(b.firstRow(), b.count(), b.buffer().floats());
        synchronized (this) {
            writeNanos += t1 - t0;
            sinkNanos += System.nanoTime() - t1;
        }
    }

    private void writeFully(ByteBuffer b, long position) throws IOException {
        long at = position;
        while (b.hasRemaining()) {
            at += channel.write(b, at);
        }
    }

    private void check() throws IOException {
        Throwable t = failure;
        if (t != null) {
            abort();
            if (t instanceof IOException io) {
                throw io;
            }
            if (t instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException("writing " + target + " failed: " + t, t);
        }
    }

    /** Waits for the writer, syncs the file and moves it into place; all rows must have been submitted. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        try {
            if (writer != null) {
                put(END);
                writer.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            abort();
            throw new IOException("interrupted while writing " + target, e);
        }
        check();
        if (seen.cardinality() != rows) {
            abort();
            throw new IllegalStateException(target + ": " + submitted + " of " + rows + " rows were written");
        }
        try {
            long t0 = System.nanoTime();
            channel.force(true);
            syncNanos = System.nanoTime() - t0;
            channel.close();
            AtomicFiles.commit(tmp, target);
            closed = true;
        } catch (IOException | RuntimeException e) {
            abort();
            throw e;
        }
    }

    /**
     * Seconds the writer thread spent writing and in the sink, the caller waited for a free buffer,
     * and the final sync took (valid after {@link #close()}).
     */
    double[] seconds() {
        return new double[] {writeNanos / 1e9, sinkNanos / 1e9, waitNanos / 1e9, syncNanos / 1e9};
    }

    /** Stops and discards the file; the target is left as it was. */
    void abort() {
        closed = true;
        if (writer != null && writer.isAlive()) {
            queue.offer(END);
        }
        try {
            channel.close();
        } catch (IOException e) {
            // discarding anyway
        }
        AtomicFiles.deleteQuietly(tmp);
    }
}
