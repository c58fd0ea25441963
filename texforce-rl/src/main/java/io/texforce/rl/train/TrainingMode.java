package io.texforce.rl.train;

/** Which LoRA PPO trains: the text encoder's (TexForce), the U-Net's (DDPO, the paper's Fig. 4), or both ("Joint"). */
public enum TrainingMode {
    TEXT_ENCODER, UNET, JOINT;

    public boolean trainsTextEncoder() {
        return this != UNET;
    }

    public boolean trainsUnet() {
        return this != TEXT_ENCODER;
    }
}
