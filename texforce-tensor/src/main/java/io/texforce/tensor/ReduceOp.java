package io.texforce.tensor;

/** Reductions over a set of dimensions. */
public enum ReduceOp {
    SUM, MEAN, MAX, MIN
}
