package dev.hesstrain.train;

import dev.hesstrain.spec.ScheduleSpec;

/**
 * The learning rate of each epoch under a {@link ScheduleSpec}, as {@code torch.optim.lr_scheduler}
 * gives it when {@code scheduler.step()} is called once at the end of every epoch: epoch e (from 1)
 * trains with the rate after k = e − 1 steps.
 *
 * <ul>
 *   <li>warm-up, k &lt; W = warmup_epochs: {@code LinearLR(start_factor, end_factor=1, total_iters=W)},
 *       lr · (s + (1 − s) · k / W);
 *   <li>then, with k' = k − W ({@code SequentialLR([warmup, decay], milestones=[W])}):
 *   <li>constant: lr;
 *   <li>step: {@code StepLR(step_size, gamma)}, lr · γ^⌊k' / step_size⌋;
 *   <li>cosine: {@code CosineAnnealingLR(T_max, eta_min)}'s closed form, η_min + (lr − η_min) · (1 +
 *       cos(π k' / T_max)) / 2, with T_max the epochs after the warm-up unless given (past T_max
 *       the closed form goes on along the cosine, as PyTorch's does).
 * </ul>
 */
public final class Schedule {
    private final ScheduleSpec spec;
    private final double lr;
    private final int tMax;

    /**
     * @param spec the schedule
     * @param lr the base learning rate ({@code train.lr})
     * @param epochs the run's epochs (T_max's default is the epochs after the warm-up)
     */
    public Schedule(ScheduleSpec spec, double lr, int epochs) {
        this.spec = spec;
        this.lr = lr;
        this.tMax = spec.tMax() != null ? spec.tMax() : Math.max(1, epochs - spec.warmupEpochs());
    }

    /** The learning rate of epoch {@code epoch} (from 1). */
    public double lr(int epoch) {
        if (epoch < 1) {
            throw new IllegalArgumentException("epochs count from 1, found " + epoch);
        }
        int k = epoch - 1;
        int w = spec.warmupEpochs();
        if (k < w) {
            double s = spec.startFactor();
            return lr * (s + (1 - s) * k / w);
        }
        int kk = k - w;
        return switch (spec.type()) {
            case CONSTANT -> lr;
            case STEP -> lr * Math.pow(spec.gamma(), kk / spec.stepSize());
            case COSINE -> spec.etaMin() + (lr - spec.etaMin()) * (1 + Math.cos(Math.PI * kk / tMax)) / 2;
        };
    }

    /** Whether the rate is the same every epoch. */
    public boolean constant() {
        return spec.warmupEpochs() == 0 && spec.type() == dev.hesstrain.spec.ScheduleKind.CONSTANT;
    }
}
