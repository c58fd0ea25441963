/** diffusers' DDIM scheduler: schedule, inference timesteps and the differentiable DDIM update. */
package io.texforce.unet.scheduler;
