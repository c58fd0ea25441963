package io.texforce.rl.train;

import io.texforce.rl.DdimPolicy;
import io.texforce.rl.PolicyObjective;
import io.texforce.tensor.Backend;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.random.Generator;
import io.texforce.unet.pipeline.StableDiffusionPipeline;

import java.util.ArrayList;
import java.util.List;

/**
 * DDPO's {@code pipeline_with_logprob}: samples images with the stochastic DDIM policy under the current text
 * encoder and keeps, for every image, each latent it visited and the log-probability of each step. Each image has
 * its own Philox generator (initial noise, then one draw per step), seeded from the run seed, the epoch and the
 * image index, so sampling is reproducible and independent of batching.
 */
final class TrajectorySampler {
    private final StableDiffusionPipeline pipeline;
    private final PolicyObjective objective;
    private final TexForceConfig config;

    TrajectorySampler(StableDiffusionPipeline pipeline, PolicyObjective objective, TexForceConfig config) {
        this.pipeline = pipeline;
        this.objective = objective;
        this.config = config;
    }

    /** The sampled batch: per image its latents [steps+1, C, h, w] and log-probs [steps]; and the decoded images. */
    record Batch(List<String> prompts, int[][] promptIds, List<Tensor> latents, float[][] logProbs, int[] timesteps,
                 Tensor images) {
    }

    Batch sample(List<String> prompts, long[] seeds) {
        try (var g = GradMode.noGrad()) {
            int b = prompts.size();
            DdimPolicy policy = objective.policy();
            List<Generator> gens = new ArrayList<>();
            for (long s : seeds) {
                gens.add(new Generator(s));
            }
            int[] hw = pipeline.latentSize(config.height(), config.width());
            int c = pipeline.unet().config().inChannels();
            Backend be = pipeline.backend();
            List<Tensor> init = new ArrayList<>();
            for (Generator gen : gens) {
                init.add(gen.randn(be, 1, c, hw[0], hw[1]));
            }
            Tensor x = Tensor.concat(init, 0).mul(pipeline.scheduler().initNoiseSigma());
            int[][] ids = pipeline.tokenizer().tokenize(prompts);
            Tensor cond = objective.encode(prompts);
            Tensor uncond = config.guidanceScale() > 1f ? objective.encode(List.of(config.negativePrompt())) : null;
            int[] ts = policy.timesteps();
            List<Tensor> visited = new ArrayList<>();
            visited.add(x);
            List<Tensor> stepLogProbs = new ArrayList<>();
            for (int i = 0; i < ts.length; i++) {
                Tensor eps = pipeline.predictNoise(x, new float[]{ts[i]}, cond, uncond, config.guidanceScale());
                List<Tensor> noise = new ArrayList<>();
                for (Generator gen : gens) {
                    noise.add(gen.randn(be, 1, c, hw[0], hw[1]));
                }
                int[] tb = new int[b];
                java.util.Arrays.fill(tb, ts[i]);
                DdimPolicy.Transition tr = policy.sample(eps, tb, x, Tensor.concat(noise, 0));
                stepLogProbs.add(tr.logProb());
                x = tr.prevSample();
                visited.add(x);
            }
            // One transfer for the whole trajectory instead of a device synchronisation per step.
            float[] lp = Tensor.stack(stepLogProbs, 1).toFloatArray(); // [B, steps]
            float[][] logp = new float[b][];
            for (int k = 0; k < b; k++) {
                logp[k] = java.util.Arrays.copyOfRange(lp, k * ts.length, (k + 1) * ts.length);
            }
            Tensor all = Tensor.stack(visited, 1); // [B, steps+1, C, h, w]
            List<Tensor> perImage = new ArrayList<>();
            for (int k = 0; k < b; k++) {
                perImage.add(all.select(0, k).contiguous());
            }
            return new Batch(List.copyOf(prompts), ids, perImage, logp, ts, pipeline.decode(x));
        }
    }
}
