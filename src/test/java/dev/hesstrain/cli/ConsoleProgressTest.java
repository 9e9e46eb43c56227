package dev.hesstrain.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.hesstrain.train.EpochMetrics;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class ConsoleProgressTest {
    private static String line(double valLoss, double froMean) {
        StringWriter s = new StringWriter();
        ConsoleProgress p = new ConsoleProgress(new PrintWriter(s), false);
        p.epoch(new EpochMetrics(1, 0.5, valLoss, 0.25, Double.NaN, 0.75, froMean, froMean, Double.NaN, Double.NaN, 0.1, 0.01, true), 10);
        return s.toString().strip();
    }

    @Test
    void anEpochLineShowsOnlyTheFiguresTheRunHas() {
        assertEquals("epoch 1/10  loss 0.750000  val 0.125000  penalty 0.2500  |H|_F 3.000", line(0.125, 3));
        // validation: 0 and a randomised penalty between its exact epochs: no "val NaN", no |H|_F NaN
        assertEquals("epoch 1/10  loss 0.750000  penalty 0.2500", line(Double.NaN, Double.NaN));
    }
}
