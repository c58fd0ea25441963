package io.texforce.cli;

import io.texforce.clip.text.ClipTextModel;
import io.texforce.unet.model.UNet2DConditionModel;

import java.nio.file.Path;
import java.util.List;

/** A {@code FILE[:WEIGHT]} argument: a LoRA file and its blend weight (1 when omitted). */
record LoraSpec(Path file, float weight) {

    static LoraSpec parse(String spec) {
        int colon = spec.lastIndexOf(':');
        if (colon > 0) {
            String tail = spec.substring(colon + 1);
            try {
                return new LoraSpec(Path.of(spec.substring(0, colon)), Float.parseFloat(tail));
            } catch (NumberFormatException e) {
                // Not a weight: the colon belongs to the file name.
            }
        }
        return new LoraSpec(Path.of(spec), 1f);
    }

    /** Attaches every {@code FILE[:WEIGHT]} spec to the text encoder (adapters named text0, text1, ...). */
    static void attachAll(ClipTextModel encoder, List<String> specs) {
        for (int i = 0; i < specs.size(); i++) {
            LoraSpec l = parse(specs.get(i));
            encoder.loadLora(l.file(), "text" + i, l.weight());
        }
    }

    /** Attaches every {@code FILE[:WEIGHT]} spec to the U-Net (adapters named unet0, unet1, ...). */
    static void attachAll(UNet2DConditionModel unet, List<String> specs) {
        for (int i = 0; i < specs.size(); i++) {
            LoraSpec l = parse(specs.get(i));
            unet.loadLora(l.file(), "unet" + i, l.weight());
        }
    }

    @Override
    public String toString() {
        return file + ":" + weight;
    }
}
