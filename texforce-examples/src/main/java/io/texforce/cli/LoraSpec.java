package io.texforce.cli;

import java.nio.file.Path;

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

    @Override
    public String toString() {
        return file + ":" + weight;
    }
}
