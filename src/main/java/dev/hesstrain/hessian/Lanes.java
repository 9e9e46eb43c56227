package dev.hesstrain.hessian;

import dev.hesstrain.model.Torch;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs numbered tasks on an operator's lanes (independent copies of it, see
 * {@link SymmetricOperator#lanes()}), one thread per lane, each PyTorch op on one thread: the lanes
 * are the parallelism. Tasks are taken in order, so that a lane's next task is the lowest one left.
 */
final class Lanes {
    private Lanes() {}

    /** One task on one lane. */
    interface Task {
        void run(int lane, int task) throws IOException;
    }

    static void run(int lanes, int tasks, Task task) throws IOException {
        AtomicInteger next = new AtomicInteger();
        if (lanes <= 1 || tasks <= 1) {
            for (int i = 0; i < tasks; i++) {
                task.run(0, i);
            }
            return;
        }
        int used = Math.min(lanes, tasks);
        int threads = Torch.threads();
        Torch.setThreads(1);
        ExecutorService pool = Executors.newFixedThreadPool(used, run -> {
            Thread t = new Thread(run, "hessian-lane");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<Void>> futures = new ArrayList<>();
            for (int lane = 0; lane < used; lane++) {
                int mine = lane;
                futures.add(pool.submit(() -> {
                    for (int i; (i = next.getAndIncrement()) < tasks; ) {
                        task.run(mine, i);
                    }
                    return null;
                }));
            }
            for (Future<Void> f : futures) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    next.set(tasks); // the other lanes stop after their current task
                    Throwable c = e.getCause();
                    if (c instanceof IOException io) {
                        throw io;
                    }
                    if (c instanceof RuntimeException re) {
                        throw re;
                    }
                    if (c instanceof Error err) {
                        throw err;
                    }
                    throw new IllegalStateException(c);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    next.set(tasks);
                    throw new IOException("interrupted", e);
                }
            }
        } finally {
            pool.shutdownNow();
            Torch.setThreads(threads);
        }
    }
}
