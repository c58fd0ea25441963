// Elementwise kernels: strided copy, fill, unary ops and their derivatives, broadcasting binary ops, where,
// clamp and in-place axpy. Op codes are the ordinals of io.texforce.tensor.UnaryOp and BinaryOp. Tensor operands are
// Typed: values are read in any format, computed in float32 and rounded to the output's format as they are stored.
#include "common.cuh"
#include "typed.cuh"

enum UnaryCode {
    U_NEG, U_EXP, U_LOG, U_SQRT, U_RSQRT, U_SQUARE, U_ABS, U_RECIPROCAL, U_TANH, U_SIGMOID, U_RELU,
    U_GELU, U_GELU_TANH, U_QUICK_GELU, U_SILU, U_POW, U_ADD_SCALAR, U_MUL_SCALAR
};

enum BinaryCode { B_ADD, B_SUB, B_MUL, B_DIV, B_MAXIMUM, B_MINIMUM, B_POW, B_GT, B_LT, B_EQ };

// x^p with the exact special cases the CPU backend takes.
__device__ __forceinline__ float tf_pow(float x, float p) {
    if (p == 2.0f) return x * x;
    if (p == 1.0f) return x;
    if (p == 0.5f) return sqrtf(x);
    return powf(x, p);
}

__device__ __forceinline__ float gelu_tanh(float x) {
    float inner = 0.7978845608028654f * (x + 0.044715f * x * x * x);
    return 0.5f * x * (1.0f + tanhf(inner));
}

__device__ __forceinline__ float gelu_tanh_grad(float x) {
    float inner = 0.7978845608028654f * (x + 0.044715f * x * x * x);
    float th = tanhf(inner);
    float d_inner = 0.7978845608028654f * (1.0f + 3.0f * 0.044715f * x * x);
    return 0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * d_inner;
}

__device__ __forceinline__ float unary_value(int op, float x, float p) {
    switch (op) {
        case U_NEG: return -x;
        case U_EXP: return expf(x);
        case U_LOG: return logf(x);
        case U_SQRT: return sqrtf(x);
        case U_RSQRT: return 1.0f / sqrtf(x);
        case U_SQUARE: return x * x;
        case U_ABS: return fabsf(x);
        case U_RECIPROCAL: return 1.0f / x;
        case U_TANH: return tanhf(x);
        case U_SIGMOID: return tf_sigmoid(x);
        case U_RELU: return fmaxf(x, 0.0f);
        case U_GELU: return tf_gelu(x);
        case U_GELU_TANH: return gelu_tanh(x);
        case U_QUICK_GELU: return x * tf_sigmoid(1.702f * x);
        case U_SILU: return x * tf_sigmoid(x);
        case U_POW: return tf_pow(x, p);
        case U_ADD_SCALAR: return x + p;
        case U_MUL_SCALAR: return x * p;
        default: return __int_as_float(0x7fc00000);
    }
}

// d op(x) / dx.
__device__ __forceinline__ float unary_slope(int op, float v, float p) {
    switch (op) {
        case U_NEG: return -1.0f;
        case U_EXP: return expf(v);
        case U_LOG: return 1.0f / v;
        case U_SQRT: return 0.5f / sqrtf(v);
        case U_RSQRT: return -0.5f / (v * sqrtf(v));
        case U_SQUARE: return 2.0f * v;
        case U_ABS: return v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f);
        case U_RECIPROCAL: return -1.0f / (v * v);
        case U_TANH: { float t = tanhf(v); return 1.0f - t * t; }
        case U_SIGMOID: { float s = tf_sigmoid(v); return s * (1.0f - s); }
        case U_RELU: return v > 0.0f ? 1.0f : 0.0f;
        case U_GELU: return tf_gelu_grad(v);
        case U_GELU_TANH: return gelu_tanh_grad(v);
        case U_QUICK_GELU: { float s = tf_sigmoid(1.702f * v); return s + 1.702f * v * s * (1.0f - s); }
        case U_SILU: { float s = tf_sigmoid(v); return s + v * s * (1.0f - s); }
        case U_POW: return p == 0.0f ? 0.0f : p * tf_pow(v, p - 1.0f);
        case U_ADD_SCALAR: return 1.0f;
        case U_MUL_SCALAR: return p;
        default: return __int_as_float(0x7fc00000);
    }
}

// Java's Math.max/min: NaN if either operand is NaN.
__device__ __forceinline__ float binary_value(int op, float x, float y) {
    switch (op) {
        case B_ADD: return x + y;
        case B_SUB: return x - y;
        case B_MUL: return x * y;
        case B_DIV: return x / y;
        case B_MAXIMUM: return (isnan(x) || isnan(y)) ? __int_as_float(0x7fc00000) : fmaxf(x, y);
        case B_MINIMUM: return (isnan(x) || isnan(y)) ? __int_as_float(0x7fc00000) : fminf(x, y);
        case B_POW: return powf(x, y);
        case B_GT: return x > y ? 1.0f : 0.0f;
        case B_LT: return x < y ? 1.0f : 0.0f;
        case B_EQ: return x == y ? 1.0f : 0.0f;
        default: return __int_as_float(0x7fc00000);
    }
}

// dst[ix op 1] = src[ix op 0] over the loop's n elements, converting between formats (widening a 16-bit tensor,
// rounding into one).
extern "C" __global__ void copy_strided(Typed src, Typed dst, Indexer ix, int n) {
    TF_FOR(i, n) {
        dst.store(tf_offset(ix, 1, i), src.load(tf_offset(ix, 0, i)));
    }
}

extern "C" __global__ void fill(float* __restrict__ dst, float value, int n) {
    TF_FOR(i, n) {
        dst[i] = value;
    }
}

extern "C" __global__ void unary_forward(int op, float p, Typed x, Typed y, int n) {
    TF_FOR(i, n) {
        y.store(i, unary_value(op, x.load(i), p));
    }
}

extern "C" __global__ void unary_backward(int op, float p, Typed gy, Typed x, Typed gx, int n) {
    TF_FOR(i, n) {
        gx.store(i, gy.load(i) * unary_slope(op, x.load(i), p));
    }
}

// out (contiguous, operand 2) = a (operand 0) op b (operand 1), broadcast by zero strides.
extern "C" __global__ void binary(int op, Typed a, Typed b, Typed out, Indexer ix, int n) {
    TF_FOR(i, n) {
        out.store(i, binary_value(op, a.load(tf_offset(ix, 0, i)), b.load(tf_offset(ix, 1, i))));
    }
}

// out (contiguous) = cond != 0 ? a : b; operands 0, 1, 2 are cond, a, b.
extern "C" __global__ void where_select(Typed cond, Typed a, Typed b, Typed out, Indexer ix, int n) {
    TF_FOR(i, n) {
        out.store(i, cond.load(tf_offset(ix, 0, i)) != 0.0f ? a.load(tf_offset(ix, 1, i))
                                                             : b.load(tf_offset(ix, 2, i)));
    }
}

extern "C" __global__ void clamp(Typed x, float lo, float hi, Typed y, int n) {
    TF_FOR(i, n) {
        y.store(i, fminf(fmaxf(x.load(i), lo), hi));
    }
}

// dst += alpha * src.
extern "C" __global__ void add_in_place(float* __restrict__ dst, Typed src, float alpha, int n) {
    TF_FOR(i, n) {
        dst[i] += alpha * src.load(i);
    }
}
