package io.texforce.unet.nn;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Linear;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.VarBuilder;

import java.util.function.UnaryOperator;

/** diffusers' {@code TimestepEmbedding}: linear_1, activation, linear_2. */
public final class TimestepEmbedding extends Module {
    private final Linear linear1;
    private final Linear linear2;
    private final UnaryOperator<Tensor> act;

    public TimestepEmbedding(VarBuilder vb, int in, int dim, String actFn) {
        this.linear1 = child("linear_1", new Linear(vb.pp("linear_1"), in, dim, true));
        this.linear2 = child("linear_2", new Linear(vb.pp("linear_2"), dim, dim, true));
        this.act = Activations.of(actFn);
    }

    public Tensor forward(Tensor x) {
        return linear2.forward(act.apply(linear1.forward(x)));
    }
}
