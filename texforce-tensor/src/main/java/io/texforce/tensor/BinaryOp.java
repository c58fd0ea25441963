package io.texforce.tensor;

/** Elementwise functions of two broadcast tensors. Comparisons yield 1.0 where true and 0.0 elsewhere. */
public enum BinaryOp {
    ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM, POW, GT, LT, EQ
}
