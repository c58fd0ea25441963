package io.texforce.tensor;

/** Elementwise functions of one tensor. Ops that take a parameter read it from the {@code param} argument. */
public enum UnaryOp {
    NEG, EXP, LOG, SQRT, RSQRT, SQUARE, ABS, RECIPROCAL, TANH, SIGMOID, RELU,
    /** Exact GELU, x * Phi(x) with the error function (PyTorch's default). */
    GELU,
    /** GELU with the tanh approximation. */
    GELU_TANH,
    /** x * sigmoid(1.702 x), OpenAI CLIP's activation. */
    QUICK_GELU,
    /** x * sigmoid(x). */
    SILU,
    /** x ^ param. */
    POW,
    /** x + param. */
    ADD_SCALAR,
    /** x * param. */
    MUL_SCALAR
}
