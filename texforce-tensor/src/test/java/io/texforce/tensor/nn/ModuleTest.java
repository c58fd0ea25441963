package io.texforce.tensor.nn;

import io.texforce.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModuleTest {

    static final class Block extends Module {
        final Linear proj;
        final LayerNorm norm;

        Block(VarBuilder vb) {
            proj = child("proj", new Linear(vb.pp("proj"), 3, 2, true));
            norm = child("norm", new LayerNorm(vb.pp("norm"), 2, 1e-5f));
        }
    }

    private static Map<String, Tensor> weights() {
        Map<String, Tensor> w = new LinkedHashMap<>();
        w.put("blocks.0.proj.weight", Tensor.of(new float[]{1, 0, 0, 0, 1, 0}, 2, 3));
        w.put("blocks.0.proj.bias", Tensor.of(new float[]{0.5f, -0.5f}, 2));
        w.put("blocks.0.norm.weight", Tensor.ones(2));
        w.put("blocks.0.norm.bias", Tensor.zeros(2));
        return w;
    }

    @Test
    void dottedNamesFollowTheVarBuilderPrefixes() {
        VarBuilder vb = VarBuilder.of(new TensorMapSource(weights(), "test weights"));
        Block b = new Block(vb.pp("blocks").pp(0));
        assertEquals(List.of("proj.weight", "proj.bias", "norm.weight", "norm.bias"),
                List.copyOf(b.namedParameters().keySet()));
        assertEquals(12, b.parameterCount());
        Tensor y = b.proj.forward(Tensor.of(new float[]{1, 2, 3}, 1, 3));
        assertArrayEquals(new float[]{1.5f, 1.5f}, y.toFloatArray(), 1e-6f);
        assertTrue(vb.unusedKeys(k -> false).isEmpty());
    }

    @Test
    void missingWeightAndShapeMismatchAreNamed() {
        Map<String, Tensor> w = weights();
        w.remove("blocks.0.norm.bias");
        var e = assertThrows(IllegalArgumentException.class,
                () -> new Block(VarBuilder.of(new TensorMapSource(w, "ckpt.safetensors")).pp("blocks").pp(0)));
        assertTrue(e.getMessage().contains("blocks.0.norm.bias") && e.getMessage().contains("ckpt.safetensors"),
                e.getMessage());
        Map<String, Tensor> w2 = weights();
        w2.put("blocks.0.proj.weight", Tensor.zeros(3, 2));
        var e2 = assertThrows(IllegalArgumentException.class,
                () -> new Block(VarBuilder.of(new TensorMapSource(w2, "ckpt")).pp("blocks").pp(0)));
        assertTrue(e2.getMessage().contains("[3, 2]") && e2.getMessage().contains("[2, 3]"), e2.getMessage());
    }

    @Test
    void unusedKeysAreReported() {
        Map<String, Tensor> w = weights();
        w.put("blocks.0.extra.weight", Tensor.zeros(1));
        VarBuilder vb = VarBuilder.of(new TensorMapSource(w, "ckpt"));
        new Block(vb.pp("blocks").pp(0));
        var e = assertThrows(IllegalArgumentException.class, () -> vb.checkAllUsed(k -> false));
        assertTrue(e.getMessage().contains("blocks.0.extra.weight"), e.getMessage());
        vb.checkAllUsed(k -> k.endsWith("extra.weight"));
    }

    @Test
    void loadStateDictCopiesAndNamesProblems() {
        Block b = new Block(VarBuilder.of(new TensorMapSource(weights(), "w")).pp("blocks").pp(0));
        Map<String, Tensor> sd = new LinkedHashMap<>();
        b.stateDict().forEach((k, v) -> sd.put(k, v.mul(2f)));
        b.loadStateDict(sd, true);
        assertArrayEquals(new float[]{1f, -1f}, b.proj.bias().toFloatArray());
        sd.remove("norm.bias");
        sd.put("bogus", Tensor.zeros(1));
        var e = assertThrows(IllegalArgumentException.class, () -> b.loadStateDict(sd, true));
        assertTrue(e.getMessage().contains("norm.bias") && e.getMessage().contains("bogus"), e.getMessage());
        sd.put("proj.weight", Tensor.zeros(1, 1));
        var e2 = assertThrows(IllegalArgumentException.class, () -> b.loadStateDict(sd, false));
        assertTrue(e2.getMessage().contains("proj.weight"), e2.getMessage());
    }
}
