package io.texforce.clip.text;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Linear;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.VarBuilder;

import java.util.function.UnaryOperator;

/** The feed-forward block of a CLIP encoder layer: fc1, activation, fc2. */
public final class ClipMlp extends Module {
    private final Linear fc1;
    private final Linear fc2;
    private final UnaryOperator<Tensor> act;

    public ClipMlp(VarBuilder vb, int hidden, int intermediate, String activation) {
        this.fc1 = child("fc1", new Linear(vb.pp("fc1"), hidden, intermediate, true));
        this.fc2 = child("fc2", new Linear(vb.pp("fc2"), intermediate, hidden, true));
        this.act = Activation.of(activation);
    }

    public Tensor forward(Tensor x) {
        return fc2.forward(act.apply(fc1.forward(x)));
    }
}
