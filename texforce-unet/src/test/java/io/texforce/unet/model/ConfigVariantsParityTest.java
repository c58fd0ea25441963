package io.texforce.unet.model;

import io.texforce.tensor.GradMode;
import io.texforce.tensor.Parity;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.TestData;
import io.texforce.tensor.io.SafeTensors;
import io.texforce.unet.scheduler.DdimScheduler;
import io.texforce.unet.scheduler.StepResult;
import io.texforce.unet.vae.AutoencoderKL;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Config fields SD 1.5 leaves at their defaults, against diffusers on tiny random models (testdata/config-variants,
 * made by tools/interop/make_config_variants.py; golden.json lists each config): SD 2.x's U-Net (linear
 * projections, per-block head counts, upcast attention); a U-Net whose per-block lists differ between blocks
 * (layers, transformer depth, head counts, cross-attention-only blocks) with scale-shift resnets, 5x5 conv_in,
 * 1x1 conv_out, mish, unflipped sinusoids with a frequency shift, centred input, a mid-block scale factor and
 * unpadded downsampling; a VAE with three blocks, two layers each, 3 latent channels and no quant convs or mid
 * attention; DDIM schedulers with v-prediction, trailing spacing, zero-SNR rescaling, cosine betas and clipping.
 */
class ConfigVariantsParityTest {
    private static final Path DIR = TestData.root().resolve("config-variants");
    static SafeTensors golden;

    @BeforeAll
    static void open() {
        golden = SafeTensors.open(DIR.resolve("golden.safetensors"));
    }

    @AfterAll
    static void close() {
        golden.close();
    }

    private static void check(String what, Tensor got, String key) {
        double err = Parity.maxAbsDiff(got, golden.tensor(key));
        System.out.printf("%s max abs error %.3e%n", what, err);
        assertTrue(err < 1e-4, what + " max abs error " + err);
    }

    @ParameterizedTest
    @ValueSource(strings = {"unet-sd2", "unet-options"})
    void unetMatchesDiffusers(String name) {
        UNet2DConditionModel unet = UNet2DConditionModel.load(DIR.resolve(name));
        try (var noGrad = GradMode.noGrad()) {
            Tensor out = unet.forward(golden.tensor(name + ".in.sample"), golden.tensor(name + ".in.timestep").toFloatArray(),
                    golden.tensor(name + ".in.encoder_hidden_states"));
            check(name, out, name + ".out.sample");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vae-options"})
    void vaeDecoderMatchesDiffusers(String name) {
        AutoencoderKL vae = AutoencoderKL.load(DIR.resolve(name));
        try (var noGrad = GradMode.noGrad()) {
            check(name, vae.decode(golden.tensor(name + ".in.latents")), name + ".out.image");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sd21", "zero-snr", "cosine-sample"})
    void ddimStepMatchesDiffusers(String name) {
        DdimScheduler s = DdimScheduler.load(DIR.resolve("scheduler-" + name + ".json"));
        int[] ts = s.timesteps(7);
        assertArrayEquals(golden.ints("scheduler-" + name + ".timesteps"), ts, name + " timesteps");
        StepResult r = s.step(golden.tensor("scheduler.in.model_output"), ts[2], golden.tensor("scheduler.in.sample"),
                1f, golden.tensor("scheduler.in.variance_noise"), 7);
        check("scheduler-" + name + " prev_sample", r.prevSample(), "scheduler-" + name + ".out.prev_sample");
        check("scheduler-" + name + " pred_original_sample", r.predOriginalSample(),
                "scheduler-" + name + ".out.pred_original_sample");
    }
}
