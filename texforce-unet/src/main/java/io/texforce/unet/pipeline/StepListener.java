package io.texforce.unet.pipeline;

import io.texforce.tensor.Tensor;
import io.texforce.unet.scheduler.StepResult;

/** Observes each denoising step (progress reporting, recording trajectories for RL). */
@FunctionalInterface
public interface StepListener {
    /**
     * @param index   the step's position (0 = first)
     * @param timestep the timestep t of this step
     * @param latents x_t, the input of the step
     * @param step    the scheduler's result (x_{t-1}, mean, std)
     */
    void onStep(int index, int timestep, Tensor latents, StepResult step);
}
