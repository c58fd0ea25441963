/** Stable Diffusion's U-Net, VAE, DDIM scheduler and text-to-image pipeline, laid out like diffusers. */
package io.texforce.unet;
