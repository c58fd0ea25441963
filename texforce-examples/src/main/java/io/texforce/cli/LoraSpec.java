package io.texforce.cli;

import io.texforce.clip.text.ClipTextModel;
import io.texforce.unet.model.UNet2DConditionModel;

import io.texforce.tensor.lora.LoraNetwork;

import java.nio.file.Path;
import java.util.ArrayList;
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
    static List<LoraNetwork> attachAll(ClipTextModel encoder, List<String> specs) {
        List<LoraNetwork> out = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
            LoraSpec l = parse(specs.get(i));
            out.add(encoder.loadLora(l.file(), "text" + i, l.weight()));
        }
        return out;
    }

    /** Attaches every {@code FILE[:WEIGHT]} spec to the U-Net (adapters named unet0, unet1, ...). */
    static List<LoraNetwork> attachAll(UNet2DConditionModel unet, List<String> specs) {
        List<LoraNetwork> out = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
            LoraSpec l = parse(specs.get(i));
            out.add(unet.loadLora(l.file(), "unet" + i, l.weight()));
        }
        return out;
    }

    @Override
    public String toString() {
        return file + ":" + weight;
    }
}
