package dev.hesstrain.runs;

import java.nio.file.Path;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.FileAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.filter.ThresholdFilter;
import org.apache.logging.log4j.core.layout.PatternLayout;

/**
 * Log levels and destinations: the console (stderr) shows warnings, {@code -v} info and
 * {@code -vv} debug; each run's {@code train.log} gets everything from info up.
 */
public final class Logging {
    private static final String RUN_APPENDER = "run-log";
    /** The layout of a run's {@code train.log} (a stacked sweep member's log has the same). */
    public static final String RUN_LOG_PATTERN = "%d{yyyy-MM-dd HH:mm:ss.SSS} %-5level %c{1} - %msg%n";

    private Logging() {}

    /** Sets the console threshold from the number of {@code -v} flags. */
    public static void setVerbosity(int verbosity) {
        Level console = switch (verbosity) {
            case 0 -> Level.WARN;
            case 1 -> Level.INFO;
            default -> Level.DEBUG;
        };
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        Configuration config = ctx.getConfiguration();
        Appender appender = config.getAppender("console");
        if (appender != null) {
            LoggerConfig root = config.getRootLogger();
            root.removeAppender("console");
            root.addAppender(appender, null, ThresholdFilter.createFilter(console, null, null));
        }
        // DJL's engine start-up chatter (CUDA detection and the like) is shown only with -vv.
        Configurator.setLevel("ai.djl", verbosity >= 2 ? Level.DEBUG : Level.ERROR);
        if (verbosity >= 2) {
            Configurator.setRootLevel(Level.DEBUG);
        }
        ctx.updateLoggers();
    }

    /**
     * An error handler for a log file that can fail to be written (a full disk): one warning line
     * on stderr, naming the file and the cause, instead of log4j's status logger printing a stack
     * trace for every line lost. The run itself goes on and reports its own write failures.
     */
    private static org.apache.logging.log4j.core.ErrorHandler quietWriteErrors(Path file) {
        return new org.apache.logging.log4j.core.ErrorHandler() {
            private final java.util.concurrent.atomic.AtomicBoolean said = new java.util.concurrent.atomic.AtomicBoolean();

            @Override
            public void error(String msg) {
                error(msg, null);
            }

            @Override
            public void error(String msg, Throwable t) {
                if (said.compareAndSet(false, true)) {
                    Throwable root = t;
                    while (root != null && root.getCause() != null) {
                        root = root.getCause();
                    }
                    String why = root == null || root.getMessage() == null ? msg : root.getMessage();
                    System.err.println("warning: cannot write " + file + " (" + why + "); its further lines are lost");
                    System.err.flush();
                }
            }

            @Override
            public void error(String msg, org.apache.logging.log4j.core.LogEvent event, Throwable t) {
                error(msg, t);
            }
        };
    }

    /**
     * A started appender {@code name} that writes a run log's lines to {@code file} (continuing it
     * when {@code append}), registered with {@code config}, whose write failures give one warning
     * line ({@link #quietWriteErrors}): the run's log and each stacked member's.
     */
    public static FileAppender runLogAppender(String name, Path file, boolean append, Configuration config) {
        FileAppender appender = FileAppender.newBuilder()
                .setName(name)
                .withFileName(file.toString())
                .withAppend(append)
                .setLayout(PatternLayout.newBuilder()
                        .withPattern(RUN_LOG_PATTERN)
                        .withConfiguration(config)
                        .build())
                .setConfiguration(config)
                .build();
        appender.setHandler(quietWriteErrors(file));
        appender.start();
        config.addAppender(appender);
        return appender;
    }

    /**
     * A started appender {@code name} for a run log of which many are written at once (a stacked
     * sweep's members: 10,000 of them in one program), registered with {@code config}. It holds no
     * descriptor: lines wait in memory and are appended to {@code file} (opened and closed again) at
     * least once a second while lines come, at once from a warning up, at 64 kB, and when it stops.
     * A new log ({@code !append}) starts empty. Write failures give one warning line.
     */
    public static Appender batchedRunLogAppender(String name, Path file, boolean append, Configuration config)
            throws java.io.IOException {
        if (!append) {
            java.nio.file.Files.write(file, new byte[0]);
        }
        BatchedFileAppender appender = new BatchedFileAppender(name, file, PatternLayout.newBuilder()
                .withPattern(RUN_LOG_PATTERN).withConfiguration(config).build());
        appender.setHandler(quietWriteErrors(file));
        appender.start();
        config.addAppender(appender);
        return appender;
    }

    /** See {@link #batchedRunLogAppender}. */
    private static final class BatchedFileAppender extends org.apache.logging.log4j.core.appender.AbstractAppender {
        private static final int MAX_PENDING = 1 << 16;
        private static final long MAX_WAIT_NANOS = 1_000_000_000L;
        private final Path file;
        private final java.io.ByteArrayOutputStream pending = new java.io.ByteArrayOutputStream();
        private long writtenAt = System.nanoTime();

        BatchedFileAppender(String name, Path file, PatternLayout layout) {
            super(name, null, layout, true, org.apache.logging.log4j.core.config.Property.EMPTY_ARRAY);
            this.file = file;
        }

        @Override
        public synchronized void append(org.apache.logging.log4j.core.LogEvent event) {
            byte[] line = getLayout().toByteArray(event);
            pending.write(line, 0, line.length);
            if (event.getLevel().isMoreSpecificThan(Level.WARN) || pending.size() >= MAX_PENDING
                    || System.nanoTime() - writtenAt >= MAX_WAIT_NANOS) {
                flush();
            }
        }

        private synchronized void flush() {
            writtenAt = System.nanoTime();
            if (pending.size() == 0) {
                return;
            }
            try (java.io.OutputStream out = java.nio.file.Files.newOutputStream(file, java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND)) {
                pending.writeTo(out);
            } catch (java.io.IOException e) {
                getHandler().error("cannot write " + file, null, e);
            }
            pending.reset();
        }

        @Override
        public void stop() {
            flush();
            super.stop();
        }

        @Override
        public boolean stop(long timeout, java.util.concurrent.TimeUnit unit) {
            flush();
            return super.stop(timeout, unit);
        }
    }

    /**
     * Adds the run's log file; everything from info up is written there. A new run's log starts
     * empty; a resumed run's ({@code append}) continues the old one.
     */
    public static void addRunLog(Path file, boolean append) {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        Configuration config = ctx.getConfiguration();
        removeRunLog();
        FileAppender appender = runLogAppender(RUN_APPENDER, file, append, config);
        config.getRootLogger().addAppender(appender, Level.INFO, null);
        ctx.updateLoggers();
    }

    /** Stops writing to the run's log file. */
    public static void removeRunLog() {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        Configuration config = ctx.getConfiguration();
        Appender old = config.getAppender(RUN_APPENDER);
        if (old != null) {
            config.getRootLogger().removeAppender(RUN_APPENDER);
            old.stop();
            config.getAppenders().remove(RUN_APPENDER);
            ctx.updateLoggers();
        }
    }
}
