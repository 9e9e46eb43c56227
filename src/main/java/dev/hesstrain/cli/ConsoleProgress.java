package dev.hesstrain.cli;

import dev.hesstrain.runs.RunDirectory;
import dev.hesstrain.spec.Spec;
import dev.hesstrain.train.EpochMetrics;
import dev.hesstrain.train.TrainJob;
import java.io.PrintWriter;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress on the terminal: a progress bar with epoch, loss, penalty and ETA when stderr is a
 * terminal; otherwise plain lines, about twenty per run.
 */
final class ConsoleProgress implements TrainJob.Progress {
    private final PrintWriter err;
    private final boolean terminal;
    private ProgressBar bar;
    private int every = 1;

    ConsoleProgress(PrintWriter err, boolean terminal) {
        this.err = err;
        this.terminal = terminal;
    }

    @Override
    public void start(Spec spec, RunDirectory run, int trainSamples, int validationSamples, long parameters,
            String device) {
        err.printf(Locale.ROOT, "hesstrain train %s: %d parameters, %d train / %d validation samples, %s, on %s%n",
                spec.name(), parameters, trainSamples, validationSamples, spec.dtype(), device);
        err.printf("run directory: %s%n", run.path());
        err.flush();
        int epochs = spec.train().epochs();
        if (terminal) {
            bar = new ProgressBarBuilder()
                    .setTaskName("epoch")
                    .setInitialMax(epochs)
                    .setStyle(ProgressBarStyle.ASCII)
                    .setUpdateIntervalMillis(200)
                    .setMaxRenderedLength(110)
                    .build();
        } else {
            every = Math.max(1, epochs / 20);
        }
    }

    @Override
    public void epoch(EpochMetrics m, int epochs) {
        if (bar != null) {
            bar.stepTo(m.epoch());
            bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4g pen %.3g", m.loss(), m.penalty()));
        } else if (m.epoch() % every == 0 || m.epoch() == epochs || m.epoch() == 1) {
            String hessian = Double.isFinite(m.hessianFroMean())
                    ? String.format(Locale.ROOT, "  |H|_F %.4g", m.hessianFroMean())
                    : ""; // a randomised penalty reports the exact norm only every penalty.exact_every epochs
            String val = Double.isNaN(m.valLoss()) ? "" // no validation rows: nothing to show
                    : String.format(Locale.ROOT, "  val %.6g", m.valLoss());
            err.printf(Locale.ROOT, "epoch %d/%d  loss %.6g%s  penalty %.4g%s%n",
                    m.epoch(), epochs, m.loss(), val, m.penalty(), hessian);
            err.flush();
        }
    }

    @Override
    public void finish() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
