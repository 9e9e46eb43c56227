package dev.hesstrain.runs;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;

/** Where an output came from: versions, machine, seed, and hashes of the spec and data. */
@JsonPropertyOrder({"hesstrain", "djl", "pytorch", "java", "os", "device", "seed", "spec_sha256", "data_sha256", "created"})
public record Provenance(
        @JsonProperty("hesstrain") String hesstrain,
        @JsonProperty("djl") String djl,
        @JsonProperty("pytorch") String pytorch,
        @JsonProperty("java") String java,
        @JsonProperty("os") String os,
        @JsonProperty("device") String device,
        @JsonProperty("seed") long seed,
        @JsonProperty("spec_sha256") String specSha256,
        @JsonProperty("data_sha256") String dataSha256,
        @JsonProperty("created") String created) {

    /** Provenance for now, on this JVM. */
    public static Provenance of(String djl, String pytorch, String device, long seed, String specSha, String dataSha) {
        return new Provenance(version(), djl, pytorch,
                System.getProperty("java.vendor") + " " + System.getProperty("java.version"),
                System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"),
                device, seed, specSha, dataSha, OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS).toString());
    }

    /** hesstrain's version from the jar manifest, or "dev" when run from classes. */
    public static String version() {
        String v = Provenance.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
