package io.texforce.tensor.cpu;

import io.texforce.tensor.*;
import java.util.List;

/** The reference backend: heap float arrays, Vector API and fork/join kernels. */
public final class CpuBackend implements Backend {
    public static final CpuBackend INSTANCE = new CpuBackend();

    private CpuBackend() {
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public Storage allocate(int size) {
        return new CpuStorage(new float[size]);
    }

    @Override
    public Storage fromHost(float[] data) {
        return new CpuStorage(data);
    }

    @Override
    public float[] toHost(Tensor t) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor full(int[] shape, float value) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor random(int[] shape, long seed, long offset, boolean uniform) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor unary(UnaryOp op, Tensor x, float param) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor unaryBackward(UnaryOp op, Tensor gy, Tensor x, float param) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor where(Tensor cond, Tensor a, Tensor b) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor clamp(Tensor x, float min, float max) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor reduce(ReduceOp op, Tensor x, int[] dims, boolean keepDim) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor concat(List<Tensor> parts, int dim) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor embedding(Tensor weight, int[] ids) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor embeddingBackward(Tensor gy, int[] ids, int vocab) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int padding) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor conv2dBackwardInput(Tensor gy, Tensor weight, int[] xShape, int stride, int padding) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor[] conv2dBackwardWeight(Tensor gy, Tensor x, int[] wShape, int stride, int padding, boolean withBias) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor[] groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor[] groupNormBackward(Tensor gy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma, boolean withBeta,                                int groups) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor[] layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor[] layerNormBackward(Tensor gy, Tensor x, Tensor mean, Tensor rstd, Tensor gamma, boolean withBeta) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor softmax(Tensor x) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor softmaxBackward(Tensor gy, Tensor y) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor[] attention(Tensor q, Tensor k, Tensor v, float scale, boolean causal) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor[] attentionBackward(Tensor gOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse, float scale,                                boolean causal) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor upsampleNearest2xBackward(Tensor gy) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor geglu(Tensor x) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public Tensor gegluBackward(Tensor gy, Tensor x) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public void addInPlace(Tensor dst, Tensor src, float alpha) {
        throw new UnsupportedOperationException("WIP");
    }

    @Override
    public void adamW(Tensor param, Tensor g, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,                float weightDecay, int step) {
        throw new UnsupportedOperationException("WIP");
    }

}
