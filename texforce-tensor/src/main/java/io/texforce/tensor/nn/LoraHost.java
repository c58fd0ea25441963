package io.texforce.tensor.nn;

import io.texforce.tensor.Backend;
import io.texforce.tensor.GradMode;
import io.texforce.tensor.Shape;
import io.texforce.tensor.Tensor;

import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The adapters attached to one layer (a {@link Linear} or {@link Conv2d}) and the bookkeeping shared by both:
 * shape checks, merging into and unmerging from the base weight.
 */
public final class LoraHost {
    private final Map<String, LoraAdapter> adapters = new LinkedHashMap<>();
    private final Tensor baseWeight;

    LoraHost(Tensor baseWeight) {
        this.baseWeight = baseWeight;
    }

    /** The backend of the base weight, where adapters of this layer must live. */
    public Backend backend() {
        return baseWeight.backend();
    }

    /** Attaches an adapter; its shapes must fit the base weight [out, in, (kh, kw)] and share its backend. */
    public void add(LoraAdapter a, String layerPath) {
        int[] w = baseWeight.shape();
        int[] expectDown = w.length == 4 ? new int[]{a.rank(), w[1], w[2], w[3]} : new int[]{a.rank(), w[1]};
        int[] expectUp = w.length == 4 ? new int[]{w[0], a.rank(), 1, 1} : new int[]{w[0], a.rank()};
        if (!Arrays.equals(a.down().shape(), expectDown) || !Arrays.equals(a.up().shape(), expectUp)) {
            throw new IllegalArgumentException("LoRA '" + a.name() + "' on " + layerPath + " (weight " + Shape.str(w)
                    + "): lora_A " + Shape.str(a.down().shape()) + " / lora_B " + Shape.str(a.up().shape())
                    + " do not fit; expected " + Shape.str(expectDown) + " / " + Shape.str(expectUp));
        }
        if (a.down().backend() != backend() || a.up().backend() != backend()) {
            throw new IllegalArgumentException("LoRA '" + a.name() + "' on " + layerPath + ": lora_A on "
                    + a.down().backend().name() + " / lora_B on " + a.up().backend().name() + ", but the layer's weight"
                    + " is on " + backend().name());
        }
        if (adapters.containsKey(a.name())) {
            throw new IllegalArgumentException("LoRA '" + a.name() + "' is already attached to " + layerPath);
        }
        adapters.put(a.name(), a);
    }

    public LoraAdapter get(String name) {
        return adapters.get(name);
    }

    public Collection<LoraAdapter> all() {
        return Collections.unmodifiableCollection(adapters.values());
    }

    /** Detaches an adapter (unmerging it first if needed); returns it, or null. */
    public LoraAdapter remove(String name) {
        LoraAdapter a = adapters.get(name);
        if (a != null && a.merged()) {
            unmerge(name);
        }
        return adapters.remove(name);
    }

    public boolean isEmpty() {
        return adapters.isEmpty();
    }

    /**
     * Folds the adapter into the base weight: W += scale * up @ down. A 16-bit base weight gets each sum computed in
     * float32 and rounded once to its format (nearest, ties to even); unmerging then subtracts and rounds again, so
     * it restores such a weight only to within that rounding, not bit for bit.
     */
    public void merge(String name) {
        LoraAdapter a = require(name);
        if (!a.merged()) {
            apply(a, 1f);
            a.setMerged(true);
        }
    }

    /** Subtracts a merged adapter from the base weight again. */
    public void unmerge(String name) {
        LoraAdapter a = require(name);
        if (a.merged()) {
            apply(a, -1f);
            a.setMerged(false);
        }
    }

    private void apply(LoraAdapter a, float sign) {
        try (var g = GradMode.noGrad()) {
            Tensor d = a.delta().reshape(baseWeight.shape());
            baseWeight.detach().addInPlace(d, sign);
        }
    }

    private LoraAdapter require(String name) {
        LoraAdapter a = adapters.get(name);
        if (a == null) {
            throw new IllegalArgumentException("no LoRA '" + name + "' attached; attached: " + adapters.keySet());
        }
        return a;
    }

    /** The one adapter the forward pass must add, or null when there is none or more than one. */
    LoraAdapter singleActive() {
        LoraAdapter found = null;
        for (LoraAdapter a : adapters.values()) {
            if (a.active()) {
                if (found != null) {
                    return null;
                }
                found = a;
            }
        }
        return found;
    }

    /** y + sum over active adapters of scale * path(x); {@code path} runs x through down then up. */
    Tensor addTo(Tensor y, Tensor x, java.util.function.BiFunction<Tensor, LoraAdapter, Tensor> path) {
        Tensor out = y;
        for (LoraAdapter a : adapters.values()) {
            if (a.active()) {
                out = out.add(path.apply(x, a).mul(a.scale()));
            }
        }
        return out;
    }
}
