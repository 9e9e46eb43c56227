package dev.hesstrain.sweep;

import dev.hesstrain.runs.Logging;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;

/**
 * The {@code train.log} of one member of a stacked group. A plain run's log is the process's log
 * while the run lives; the members of a stacked group train together in one thread, so each gets
 * loggers of its own instead: named {@code hesstrain.member.<n>.<Class>}, not additive (nothing
 * reaches the console or another member's log), writing to the member's file in the layout of
 * {@link Logging#RUN_LOG_PATTERN}, so that a line reads as the plain run's does ({@code INFO
 * TrainJob - epoch 3: train_mse ...}). The file is open only while lines are appended to it
 * ({@link Logging#batchedRunLogAppender}): a program of 10,000 members holds no descriptor for them.
 */
final class MemberLog implements AutoCloseable {
    private static final AtomicLong NEXT = new AtomicLong();

    private final String prefix;
    private final Appender appender;
    /** The loggers handed out, by the class they stand for (asked for every epoch). */
    private final java.util.Map<Class<?>, Logger> loggers = new java.util.HashMap<>();

    MemberLog(Path file) {
        this(file, false);
    }

    /** A log that continues {@code file} when {@code append} (a resumed member's). */
    MemberLog(Path file, boolean append) {
        this.prefix = "hesstrain.member." + NEXT.incrementAndGet();
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        Configuration config = ctx.getConfiguration();
        try {
            this.appender = Logging.batchedRunLogAppender(prefix, file, append, config);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
        LoggerConfig logger = new LoggerConfig(prefix, Level.INFO, false);
        logger.addAppender(appender, Level.INFO, null);
        config.addLogger(prefix, logger);
        ctx.updateLoggers();
    }

    /** The member's logger that stands for {@code type} (its lines name the class as a plain run's do). */
    Logger logger(Class<?> type) {
        return loggers.computeIfAbsent(type, t -> LogManager.getLogger(prefix + "." + t.getSimpleName()));
    }

    @Override
    public void close() {
        LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
        Configuration config = ctx.getConfiguration();
        config.removeLogger(prefix);
        appender.stop();
        config.getAppenders().remove(prefix);
        ctx.updateLoggers();
    }
}
