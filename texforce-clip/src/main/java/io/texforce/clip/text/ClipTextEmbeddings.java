package io.texforce.clip.text;

import io.texforce.tensor.Tensor;
import io.texforce.tensor.nn.Embedding;
import io.texforce.tensor.nn.Module;
import io.texforce.tensor.nn.VarBuilder;

/** Token plus learned absolute position embeddings. */
public final class ClipTextEmbeddings extends Module {
    private final Embedding token;
    private final Embedding position;
    private final int maxPositions;

    public ClipTextEmbeddings(VarBuilder vb, ClipTextConfig c) {
        this.token = child("token_embedding", new Embedding(vb.pp("token_embedding"), c.vocabSize(), c.hiddenSize()));
        this.position = child("position_embedding",
                new Embedding(vb.pp("position_embedding"), c.maxPositionEmbeddings(), c.hiddenSize()));
        this.maxPositions = c.maxPositionEmbeddings();
    }

    /** ids [B][N] (every row the same length N <= max positions) -> [B, N, hidden]. */
    public Tensor forward(int[][] ids) {
        int b = ids.length, n = ids[0].length;
        if (n > maxPositions) {
            throw new IllegalArgumentException("sequence of " + n + " tokens exceeds max_position_embeddings " + maxPositions);
        }
        int[] flat = new int[b * n];
        for (int i = 0; i < b; i++) {
            if (ids[i].length != n) {
                throw new IllegalArgumentException("token rows of different lengths: " + n + " and " + ids[i].length);
            }
            System.arraycopy(ids[i], 0, flat, i * n, n);
        }
        int[] positions = new int[n];
        for (int i = 0; i < n; i++) {
            positions[i] = i;
        }
        Tensor tok = token.forward(flat).reshape(b, n, -1);
        return tok.add(position.forward(positions));
    }

    public Embedding tokenEmbedding() {
        return token;
    }
}
