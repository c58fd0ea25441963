/** Reinforcement learning of text-encoder (and U-Net) LoRAs: DDIM policy log-probabilities, advantages, PPO. */
package io.texforce.rl;
