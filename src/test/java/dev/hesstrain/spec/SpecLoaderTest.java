package dev.hesstrain.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpecLoaderTest {
    static final Path SIN2PI = Path.of("configs/sin2pi.yaml");

    @Test
    void loadsTheShippedConfigWithDefaults() {
        Spec s = SpecLoader.load(SIN2PI);
        assertEquals("sin2pi", s.name());
        assertEquals(7, s.model().layers().size());
        assertEquals(1e-3, s.penalty().lambda());
        assertEquals(Norm.FROBENIUS, s.penalty().norm());
        assertEquals(500, s.train().batchSize());
        assertEquals(0.2, s.data().validation());
        assertEquals(List.of(-1.0, 1.0), s.data().domain());
    }

    @Test
    void overridesSetNestedFieldsListItemsAndNewFields() {
        Spec s = SpecLoader.load(SIN2PI, List.of("train.epochs=5", "penalty.lambda=0", "model.layers[0].units=20",
                "train.optimizer=sgd", "penalty.lambda=1e-4", "name=other"));
        assertEquals(5, s.train().epochs());
        assertEquals(1e-4, s.penalty().lambda(), 0);
        assertEquals(20, s.model().layers().get(0).units());
        assertEquals(OptimizerKind.SGD, s.train().optimizer());
        assertEquals(0.9, s.train().momentum());
        assertEquals("other", s.name());
    }

    @Test
    void anOverrideErrorNamesTheOverride() {
        SpecException e = assertThrows(SpecException.class, () -> SpecLoader.load(SIN2PI, List.of("train.epochs=-3")));
        assertEquals("configs/sin2pi.yaml (--set train.epochs=-3): train.epochs: must be positive, found -3", e.getMessage());
        e = assertThrows(SpecException.class, () -> SpecLoader.load(SIN2PI, List.of("train.epochs")));
        assertTrue(e.getMessage().contains("expected path=value"), e.getMessage());
        e = assertThrows(SpecException.class, () -> SpecLoader.load(SIN2PI, List.of("model.layers[9].units=3")));
        assertTrue(e.getMessage().contains("index 9 is out of range"), e.getMessage());
    }

    @Test
    void resolvedYamlRoundTripsAndJsonIsTheSameSchema(@TempDir Path dir) throws IOException {
        Spec s = SpecLoader.load(SIN2PI, List.of("train.epochs=7"));
        Path yaml = dir.resolve("resolved.yaml");
        Files.writeString(yaml, SpecLoader.toYaml(s));
        assertEquals(s, SpecLoader.load(yaml));
        Path json = dir.resolve("same.json");
        Files.writeString(json, new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(s));
        assertEquals(s, SpecLoader.load(json));
        assertEquals(SpecLoader.hash(s), SpecLoader.hash(SpecLoader.load(json)));
        assertNotEquals(SpecLoader.hash(s), SpecLoader.hash(SpecLoader.load(SIN2PI)));
    }

    /** Issue 20: the monitor section, its defaults and schedule, and its round trip. */
    @Test
    void monitorSectionSchedulesSharpnessAndTrace(@TempDir Path dir) throws IOException {
        Spec plain = SpecLoader.load(SIN2PI);
        assertEquals(null, plain.monitor());
        Spec s = SpecLoader.load(SIN2PI, List.of("monitor.sharpness_every=10", "monitor.hessian_trace_every=25",
                "train.epochs=60"));
        MonitorSpec m = s.monitor();
        assertEquals(10, m.sharpnessEvery());
        assertEquals(1000, m.points(5000), "all points up to 1,000 by default");
        assertEquals(300, m.points(300));
        assertTrue(m.sharpnessAt(10, 60) && m.sharpnessAt(60, 60) && !m.sharpnessAt(11, 60));
        assertTrue(m.hessianTraceAt(25, 60) && m.hessianTraceAt(60, 60) && !m.hessianTraceAt(10, 60));
        assertTrue(m.sharpnessAt(7, 7), "the last epoch always");
        assertEquals(40, SpecLoader.load(SIN2PI, List.of("monitor.sharpness_every=1", "monitor.samples=40")).monitor()
                .points(1000));
        Path yaml = dir.resolve("m.yaml");
        Files.writeString(yaml, SpecLoader.toYaml(s));
        assertEquals(s, SpecLoader.load(yaml));
        SpecException e = assertThrows(SpecException.class, () -> SpecLoader.load(SIN2PI,
                List.of("monitor.samples=10")));
        assertTrue(e.getMessage().contains("monitor.sharpness_every: monitor needs sharpness_every or "
                + "hessian_trace_every"), e.getMessage());
        e = assertThrows(SpecException.class, () -> SpecLoader.load(SIN2PI, List.of("monitor.sharpness_every=0")));
        assertTrue(e.getMessage().contains("monitor.sharpness_every"), e.getMessage());
    }

    @Test
    void nameDefaultsToTheFileStem(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("my-exp.yaml");
        Files.writeString(f, "data: {generator: 'x1^2', inputs: 1, samples: 10}\nmodel: {layers: [{type: linear, units: 1}]}\n");
        assertEquals("my-exp", SpecLoader.load(f).name());
    }

    @Test
    void aMissingFileIsASpecError() {
        SpecException e = assertThrows(SpecException.class, () -> SpecLoader.load(Path.of("no/such.yaml")));
        assertEquals("no/such.yaml: no such file", e.getMessage());
    }

    @Test
    void closedSetsAreParsedOnceInAnyCaseAndWrittenBackInLowerCase(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("sets.yaml");
        Files.writeString(f, """
                dtype: FLOAT64
                device: Cpu
                data: {generator: 'x1*x2', inputs: 2, samples: 10}
                model:
                  layers: [{type: Linear, units: 3}, {type: GELU}, {type: linear, units: 2}, {type: Log_Softmax}]
                loss: NLL
                penalty: {lambda: 0.1, norm: OffDiagonal, method: HUTCHINSON, distribution: Gaussian}
                train: {optimizer: SGD}
                """);
        Spec s = SpecLoader.load(f);
        assertEquals(DType.FLOAT64, s.dtype());
        assertEquals(DeviceKind.CPU, s.device());
        assertEquals(List.of(LayerType.LINEAR, LayerType.GELU, LayerType.LINEAR, LayerType.LOG_SOFTMAX),
                s.model().layers().stream().map(LayerSpec::type).toList());
        assertEquals(ActivationKind.GELU, s.model().layers().get(1).type().activation());
        assertEquals(null, s.model().layers().get(3).type().activation());
        assertEquals(LossKind.NLL, s.loss());
        assertTrue(s.isClassification());
        assertEquals(Norm.OFFDIAGONAL, s.penalty().norm());
        assertEquals(PenaltyMethod.HUTCHINSON, s.penalty().method());
        assertEquals(Distribution.GAUSSIAN, s.penalty().distribution());
        assertEquals(OptimizerKind.SGD, s.train().optimizer());
        String yaml = SpecLoader.toYaml(s);
        for (String line : List.of("dtype: float64", "device: cpu", "type: linear", "type: gelu", "type: log_softmax",
                "loss: nll", "norm: offdiagonal", "method: hutchinson", "distribution: gaussian", "optimizer: sgd")) {
            assertTrue(yaml.contains(line), line + " in\n" + yaml);
        }
        Path back = dir.resolve("back.yaml");
        Files.writeString(back, yaml);
        assertEquals(s, SpecLoader.load(back));
        String json = new String(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsBytes(s),
                java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(json.contains("\"loss\":\"nll\"") && json.contains("\"type\":\"log_softmax\""), json);
    }

    @Test
    void everyConstantParsesFromItsLowerCaseName() throws ReflectiveOperationException {
        List<Enum<?>[]> sets = List.of(LossKind.values(), LayerType.values(), ActivationKind.values(),
                OptimizerKind.values(), Norm.values(), PenaltyMethod.values(), Distribution.values(), DType.values(),
                DeviceKind.values());
        int n = 0;
        for (Enum<?>[] set : sets) {
            for (Enum<?> e : set) {
                String id = e.name().toLowerCase(java.util.Locale.ROOT);
                assertEquals(id, e.toString());
                Object parsed = e.getDeclaringClass().getMethod("parse", String.class).invoke(null, id);
                assertEquals(e, parsed);
                n++;
            }
        }
        assertEquals(3 + 12 + 8 + 2 + 4 + 2 + 2 + 2 + 3, n);
        // every activation is a layer type of the same name
        for (ActivationKind a : ActivationKind.values()) {
            assertEquals(a, LayerType.parse(a.id()).activation());
        }
        SpecException e = assertThrows(SpecException.class, () -> OptimizerKind.parse("RMSprop"));
        assertEquals("unknown value 'RMSprop'; expected one of adam, sgd", e.getMessage());
    }

    @Test
    void aClosedSetGivenAListIsATypeError() {
        SpecException e = assertThrows(SpecException.class, () -> SpecLoader.load(SIN2PI, List.of("loss=[mse]")));
        assertEquals("configs/sin2pi.yaml (--set loss=[mse]): loss: expected one of mse, cross_entropy, nll, found a list of 1",
                e.getMessage());
    }

    @Test
    void nllWithoutLogSoftmaxLastIsWarnedAbout() {
        Spec plain = SpecLoader.load(SIN2PI, List.of("loss=nll"));
        assertEquals(1, plain.warnings().size(), plain.warnings().toString());
        String w = plain.warnings().get(0);
        assertTrue(w.contains("loss nll") && w.contains("log_softmax") && w.contains("negative"), w);
        int last = plain.model().layers().size();
        Spec logp = SpecLoader.load(SIN2PI, List.of("loss=nll", "model.layers[" + last + "]={type: log_softmax}"));
        assertEquals(List.of(), logp.warnings());
        assertEquals(List.of(), SpecLoader.load(SIN2PI, List.of("loss=cross_entropy")).warnings());
        assertEquals(List.of(), SpecLoader.load(SIN2PI).warnings());
    }

    @Test
    void anEmptyOverrideValueIsRefusedNamingTheOverride() {
        for (String o : List.of("train.epochs=", "train.epochs=  ")) {
            SpecException e = assertThrows(SpecException.class, () -> SpecLoader.load(SIN2PI, List.of(o)));
            assertTrue(e.getMessage().startsWith("--set " + o + ": no value after '='"), e.getMessage());
        }
    }

    @Test
    void textAfterAnIndexIsRefusedNotIgnored() {
        SpecException e = assertThrows(SpecException.class,
                () -> SpecLoader.load(SIN2PI, List.of("model.layers[0]units=3")));
        assertEquals("--set model.layers[0]units=3: unexpected 'units' after ']' in path 'model.layers[0]units'; a key"
                + " after an index follows a dot, as in layers[0].units", e.getMessage());
        assertEquals(3, SpecLoader.load(SIN2PI, List.of("model.layers[0].units=3")).model().layers().get(0).units());
    }

    @Test
    void anUnknownKeyOrBadValueFromAnOverrideNamesTheOverrideNotTheFile() {
        SpecException e = assertThrows(SpecException.class,
                () -> SpecLoader.load(SIN2PI, List.of("logging.tensorboard=true")));
        assertTrue(e.getMessage().startsWith("configs/sin2pi.yaml (--set logging.tensorboard=true): logging: unknown key"
                + " 'logging'"), e.getMessage());
        e = assertThrows(SpecException.class, () -> SpecLoader.load(SIN2PI, List.of("device=tpu")));
        assertTrue(e.getMessage().startsWith("configs/sin2pi.yaml (--set device=tpu): device: unknown value 'tpu'"),
                e.getMessage());
        e = assertThrows(SpecException.class, () -> SpecLoader.load(SIN2PI, List.of("train.nosuch=1")));
        assertTrue(e.getMessage().startsWith("configs/sin2pi.yaml (--set train.nosuch=1): train.nosuch: unknown key"),
                e.getMessage());
    }

    @Test
    void anErrorFoundAfterLoadingAboutAnOverriddenFieldNamesTheOverride() {
        SpecException late = new SpecException("reg.yaml", "device", 0, 0, "is gpu but PyTorch sees no GPU");
        assertEquals("reg.yaml (--set device=gpu): device: is gpu but PyTorch sees no GPU",
                SpecLoader.byOverride(late, List.of("train.epochs=2", "device=gpu")).getMessage());
        SpecException units = new SpecException("reg.yaml", "model.layers[0].units", 0, 0, "too many");
        assertEquals("reg.yaml (--set model.layers[0]={type: linear, units: 9}): model.layers[0].units: too many",
                SpecLoader.byOverride(units, List.of("model.layers[0]={type: linear, units: 9}")).getMessage());
        assertEquals(late, SpecLoader.byOverride(late, List.of("train.epochs=2")));
        SpecException placed = new SpecException("reg.yaml", "device", 3, 1, "bad");
        assertEquals(placed, SpecLoader.byOverride(placed, List.of("device=gpu")));
    }

    @Test
    void anOversizedSpecIsRefusedBeforeItIsParsed(@TempDir Path dir) throws IOException {
        Path name = dir.resolve("big-name.yaml");
        Files.writeString(name, "name: " + "a".repeat(4 << 20) + "\n");
        SpecException e = assertThrows(SpecException.class, () -> SpecLoader.load(name));
        assertEquals(name + ": the spec is " + Files.size(name) + " bytes; a spec may have at most 1048576 bytes (1 MiB)",
                e.getMessage());
        Path comments = dir.resolve("comments.yaml");
        Files.writeString(comments, Files.readString(SIN2PI) + "# a comment\n".repeat(200_000));
        e = assertThrows(SpecException.class, () -> SpecLoader.load(comments));
        assertTrue(e.getMessage().contains("a spec may have at most 1048576 bytes"), e.getMessage());
        e = assertThrows(SpecException.class, () -> SpecLoader.parse("x.yaml", "#".repeat(SpecLoader.MAX_BYTES + 1), List.of()));
        assertTrue(e.getMessage().contains("a spec may have at most"), e.getMessage());
    }

    @Test
    void aRelativeDataFileIsResolvedAgainstTheSpecsFolderAndSavedAbsolute(@TempDir Path dir) throws IOException {
        Path sub = Files.createDirectories(dir.resolve("a/b"));
        Files.writeString(dir.resolve("a/rows.csv"), "x,y\n1,2\n");
        Path spec = sub.resolve("s.yaml");
        Files.writeString(spec, "data: {file: ../rows.csv}\nmodel: {layers: [{type: linear, units: 1}]}\n");
        Spec s = SpecLoader.load(spec);
        assertEquals(dir.resolve("a/rows.csv").toAbsolutePath().normalize().toString(), s.data().file());
        // the run's own spec.yaml, saved elsewhere, loads back with the same data file
        Path saved = Files.createDirectories(dir.resolve("elsewhere")).resolve("spec.yaml");
        Files.writeString(saved, SpecLoader.toYaml(s));
        assertEquals(s, SpecLoader.load(saved));
        // not found anywhere: left as written, for the data loader's error naming both places
        Files.writeString(spec, "data: {file: nowhere.csv}\nmodel: {layers: [{type: linear, units: 1}]}\n");
        assertEquals("nowhere.csv", SpecLoader.load(spec).data().file());
    }

    @Test
    void everyShippedConfigFindsItsDataFileWhereverItIsLoadedFrom() throws IOException {
        try (var configs = Files.list(Path.of("configs"))) {
            for (Path c : configs.filter(p -> p.toString().endsWith(".yaml")).toList()) {
                String file = SpecLoader.load(c.toAbsolutePath()).data().file();
                if (file != null) {
                    assertTrue(Path.of(file).isAbsolute() && Files.isRegularFile(Path.of(file)), c + ": " + file);
                    // relative to the config's own folder, not to the repository root
                    String text = Files.readString(c);
                    assertTrue(text.contains("file: ../datasets/"), c + " should name its data relative to configs/");
                }
            }
        }
    }
}
