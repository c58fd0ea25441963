package io.texforce.unet.nn;

import io.texforce.tensor.Functional;
import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Linear;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.ModuleDict;
import io.texforce.tensor.nn.VarBuilder;

/**
 * diffusers' {@code FeedForward}: {@code net.0.proj} (GEGLU: a projection to twice the inner size, the first half
 * gated by the GELU of the second; or a plain GELU), dropout, {@code net.2} back to the model width.
 */
public final class FeedForward extends Module {
    private final Linear proj;
    private final Linear out;
    private final String activation;

    public FeedForward(VarBuilder vb, int dim, int mult, String activation) {
        int inner = dim * mult;
        ModuleDict net = child("net", new ModuleDict());
        ModuleDict act = net.put("0", new ModuleDict());
        boolean gated = activation.equals("geglu");
        if (!gated && !activation.equals("gelu") && !activation.equals("gelu-approximate")) {
            throw new IllegalArgumentException("unsupported feed-forward activation '" + activation + "'");
        }
        this.proj = act.put("proj", new Linear(vb.pp("net").pp(0).pp("proj"), dim, gated ? 2 * inner : inner, true));
        this.out = net.put("2", new Linear(vb.pp("net").pp(2), inner, dim, true));
        this.activation = activation;
    }

    public Tensor forward(Tensor x) {
        Tensor h = proj.forward(x);
        h = switch (activation) {
            case "geglu" -> Functional.geglu(h);
            case "gelu" -> h.gelu();
            default -> h.geluTanh();
        };
        return out.forward(h);
    }
}
