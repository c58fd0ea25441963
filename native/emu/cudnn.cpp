// The cuDNN convolution calls io.texforce.cuda.Cudnn makes, as plain reference loops on the host (double sums, one
// rounding per output), for the CUDA host emulator. Built into its own library (libtexforce-cudnn-emu.so) because
// cuDNN is reached through JavaCPP's JNI bindings, which link libcudnn_*.so.9 by name: build.sh gives it stand-ins
// of those names that depend on it. The emulator's memory checks come through tfemu_cudnn_bind, so that every
// tensor, filter and workspace must lie inside one device allocation of the emulator that owns it.
//
// Checked as cuDNN checks them (CUDNN_STATUS_BAD_PARAM): descriptors set, x/w/y of one data type, x's channels equal
// to the filter's, y's shape the one cudnnGetConvolution2dForwardOutputDim gives, and a workspace of the size asked
// for; data must be 16-byte aligned (CUDNN_STATUS_NOT_SUPPORTED otherwise, see aligned()). Only NCHW and dilation 1
// are emulated (CUDNN_STATUS_NOT_SUPPORTED otherwise). CUDNN_CONVOLUTION flips the filter and
// CUDNN_CROSS_CORRELATION does not, as in cuDNN, so passing the wrong mode gives wrong numbers. Float32 data under
// CUDNN_DEFAULT_MATH has its inputs rounded to TF32 (what cuDNN may do on sm_80 and newer); under CUDNN_FMA_MATH it
// is exact.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "tf32.h"

namespace {

// cudnnStatus_t and the enums of cuDNN 9's headers.
enum : int {
    SUCCESS = 0,
    NOT_INITIALIZED = 1001,
    BAD_PARAM = 2000,
    BAD_PARAM_NULL_POINTER = 2002,
    NOT_SUPPORTED = 3000,
    EXECUTION_FAILED = 5000
};
enum : int { DATA_FLOAT = 0, DATA_HALF = 2, DATA_BFLOAT16 = 9 };
enum : int { TENSOR_NCHW = 0 };
enum : int { CONVOLUTION = 0, CROSS_CORRELATION = 1 };
enum : int { DEFAULT_MATH = 0, TENSOR_OP_MATH = 1, TENSOR_OP_MATH_ALLOW_CONVERSION = 2, FMA_MATH = 3 };

struct Handle {
    void* stream = nullptr;
};
struct TensorDesc {
    bool set = false;
    int type = 0, n = 0, c = 0, h = 0, w = 0;
};
struct FilterDesc {
    bool set = false;
    int type = 0, k = 0, c = 0, h = 0, w = 0;
};
struct ConvDesc {
    bool set = false;
    int pad_h = 0, pad_w = 0, stride_h = 1, stride_w = 1, mode = CROSS_CORRELATION, compute = DATA_FLOAT;
    int math = DEFAULT_MATH;
};
// cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t (the same layout for all three).
struct AlgoPerf {
    int algo;
    int status;
    float time;
    size_t memory;
    int determinism;
    int math_type;
    int reserved[3];
};

using CheckFn = int (*)(uint64_t pointer, size_t bytes, char* why, size_t why_size);
using FlushFn = void (*)();
CheckFn check_memory = nullptr;
FlushFn flush_copies = nullptr;

int element_bytes(int type) { return type == DATA_FLOAT ? 4 : 2; }

using tfemu::to_tf32;

float load(const void* base, int type, int64_t i, bool tf32) {
    switch (type) {
        case DATA_HALF: return __half2float(static_cast<const __half*>(base)[i]);
        case DATA_BFLOAT16: return __bfloat162float(static_cast<const __nv_bfloat16*>(base)[i]);
        default: {
            const float v = static_cast<const float*>(base)[i];
            return tf32 ? to_tf32(v) : v;
        }
    }
}

void store(void* base, int type, int64_t i, float v) {
    switch (type) {
        case DATA_HALF: static_cast<__half*>(base)[i] = __float2half_rn(v); break;
        case DATA_BFLOAT16: static_cast<__nv_bfloat16*>(base)[i] = __float2bfloat16_rn(v); break;
        default: static_cast<float*>(base)[i] = v;
    }
}

bool in_memory(const char* call, const char* what, const void* p, size_t bytes) {
    if (bytes == 0) return true;
    char why[256] = {0};
    if (check_memory == nullptr) {
        std::fprintf(stderr, "tfemu: %s: the cuDNN emulator is not bound to an emulated device\n", call);
        return false;
    }
    if (!check_memory(reinterpret_cast<uint64_t>(p), bytes, why, sizeof why)) {
        std::fprintf(stderr, "tfemu: %s: %s (%zu bytes): %s\n", call, what, bytes, why);
        return false;
    }
    return true;
}

// Some of cuDNN's algorithms need 16-byte aligned data, and which one the heuristics pick does not depend on the
// pointers: the emulation insists on it for every algorithm, so that a caller passing a view that starts inside
// its allocation is caught here rather than on one GPU with one algorithm.
bool aligned(const char* call, const char* what, const void* p) {
    if (reinterpret_cast<uintptr_t>(p) % 16 == 0) return true;
    std::fprintf(stderr, "tfemu: %s: %s at %p is not 16-byte aligned\n", call, what, p);
    return false;
}

int out_size(int in, int kernel, int pad, int stride) { return (in + 2 * pad - kernel) / stride + 1; }

// The shared checks of the three convolutions: formats, channels and the output shape.
int check_shapes(const char* call, const TensorDesc* x, const FilterDesc* w, const ConvDesc* conv,
                 const TensorDesc* y) {
    if (x == nullptr || w == nullptr || conv == nullptr || y == nullptr) return BAD_PARAM_NULL_POINTER;
    if (!x->set || !w->set || !conv->set || !y->set) {
        std::fprintf(stderr, "tfemu: %s: a descriptor was created but never set\n", call);
        return BAD_PARAM;
    }
    if (x->type != w->type || y->type != x->type) {
        std::fprintf(stderr, "tfemu: %s: data types x %d, w %d, y %d differ\n", call, x->type, w->type, y->type);
        return BAD_PARAM;
    }
    if (x->c != w->c) {
        std::fprintf(stderr, "tfemu: %s: x has %d channels, the filter %d\n", call, x->c, w->c);
        return BAD_PARAM;
    }
    const int oh = out_size(x->h, w->h, conv->pad_h, conv->stride_h);
    const int ow = out_size(x->w, w->w, conv->pad_w, conv->stride_w);
    if (y->n != x->n || y->c != w->k || y->h != oh || y->w != ow) {
        std::fprintf(stderr, "tfemu: %s: y is [%d, %d, %d, %d], the convolution gives [%d, %d, %d, %d]\n", call,
                     y->n, y->c, y->h, y->w, x->n, w->k, oh, ow);
        return BAD_PARAM;
    }
    if (conv->compute != DATA_FLOAT) {
        std::fprintf(stderr, "tfemu: %s: compute type %d is not emulated (float only)\n", call, conv->compute);
        return NOT_SUPPORTED;
    }
    return SUCCESS;
}

size_t tensor_bytes(const TensorDesc* t) { return size_t(t->n) * t->c * t->h * t->w * element_bytes(t->type); }
size_t filter_bytes(const FilterDesc* f) { return size_t(f->k) * f->c * f->h * f->w * element_bytes(f->type); }

// A workspace size that depends on the shapes, so that a caller passing another call's size or none is caught.
size_t workspace_for(const FilterDesc* w) { return 256 + size_t(w->c) * w->h * w->w * sizeof(float); }

// Checks and then scribbles over the workspace, as a real algorithm may leave anything in it.
int use_workspace(const char* call, void* workspace, size_t given, size_t needed) {
    if (given < needed) {
        std::fprintf(stderr, "tfemu: %s: workspace of %zu bytes, the algorithm needs %zu\n", call, given, needed);
        return BAD_PARAM;
    }
    if (needed > 0 && workspace == nullptr) return BAD_PARAM_NULL_POINTER;
    if (!in_memory(call, "workspace", workspace, given)) return BAD_PARAM;
    std::memset(workspace, 0xFF, given);
    return SUCCESS;
}

// The filter tap that output (oy, ox) meets input (iy, ix) through: flipped for CUDNN_CONVOLUTION.
inline int tap(int k, int size, int mode) { return mode == CONVOLUTION ? size - 1 - k : k; }

// The _v7 heuristics of every direction, with its descriptors in forward terms (x, w, y = dx, w, dy for the data
// gradient): one deterministic candidate, IMPLICIT_PRECOMP_GEMM / BWD_*_ALGO_1.
int heuristics(const char* call, const Handle* h, const TensorDesc* x, const FilterDesc* w, const ConvDesc* conv,
               const TensorDesc* y, int requested, int* returned, AlgoPerf* perf) {
    if (h == nullptr || returned == nullptr || perf == nullptr) return BAD_PARAM_NULL_POINTER;
    if (int rc = check_shapes(call, x, w, conv, y); rc != SUCCESS) return rc;
    if (requested < 1) return BAD_PARAM;
    std::memset(perf, 0, sizeof *perf);
    perf->algo = 1;
    perf->status = SUCCESS;
    perf->memory = workspace_for(w);
    perf->determinism = 1;
    perf->math_type = conv->math;
    *returned = 1;
    return SUCCESS;
}

// The workspace query of every direction, descriptors in forward terms as for heuristics().
int workspace_size(const char* call, const Handle* h, const TensorDesc* x, const FilterDesc* w, const ConvDesc* conv,
                   const TensorDesc* y, int algo, size_t* bytes) {
    if (h == nullptr || bytes == nullptr) return BAD_PARAM_NULL_POINTER;
    if (int rc = check_shapes(call, x, w, conv, y); rc != SUCCESS) return rc;
    if (algo != 1) return NOT_SUPPORTED;
    *bytes = workspace_for(w);
    return SUCCESS;
}

struct Operand {
    const char* name;
    const void* data;
    size_t bytes;
};

// What every convolution call checks before it computes, descriptors in forward terms: the shapes, the algorithm,
// then (after the copies queued before it, as on the stream) that each operand lies in one allocation and is
// aligned, and that the workspace is the one asked for.
int prepare(const char* call, const TensorDesc* x, const FilterDesc* w, const ConvDesc* conv, const TensorDesc* y,
            int algo, const Operand (&data)[3], void* workspace, size_t workspace_bytes) {
    for (const Operand& o : data) {
        if (o.data == nullptr) return BAD_PARAM_NULL_POINTER;
    }
    if (int rc = check_shapes(call, x, w, conv, y); rc != SUCCESS) return rc;
    if (algo != 1) return NOT_SUPPORTED;
    if (flush_copies != nullptr) flush_copies();
    for (const Operand& o : data) {
        if (!in_memory(call, o.name, o.data, o.bytes)) return BAD_PARAM;
    }
    for (const Operand& o : data) {
        if (!aligned(call, o.name, o.data)) return NOT_SUPPORTED;
    }
    return use_workspace(call, workspace, workspace_bytes, workspace_for(w));
}

// Float32 data under CUDNN_DEFAULT_MATH enters the products rounded to TF32.
bool tf32_inputs(const TensorDesc* x, const ConvDesc* conv) {
    return x->type == DATA_FLOAT && conv->math == DEFAULT_MATH;
}

}  // namespace

extern "C" {

// Called by io.texforce.cuda.Cudnn with the memory functions of the emulator whose device memory cuDNN reads.
void tfemu_cudnn_bind(CheckFn check, FlushFn flush) {
    check_memory = check;
    flush_copies = flush;
}

size_t cudnnGetVersion() { return 91900; }

const char* cudnnGetErrorString(int status) {
    switch (status) {
        case SUCCESS: return "CUDNN_STATUS_SUCCESS";
        case NOT_INITIALIZED: return "CUDNN_STATUS_NOT_INITIALIZED";
        case BAD_PARAM: return "CUDNN_STATUS_BAD_PARAM";
        case BAD_PARAM_NULL_POINTER: return "CUDNN_STATUS_BAD_PARAM_NULL_POINTER";
        case NOT_SUPPORTED: return "CUDNN_STATUS_NOT_SUPPORTED";
        case EXECUTION_FAILED: return "CUDNN_STATUS_EXECUTION_FAILED";
        default: return "CUDNN_STATUS_UNKNOWN";
    }
}

int cudnnCreate(Handle** handle) {
    if (handle == nullptr) return BAD_PARAM_NULL_POINTER;
    if (check_memory == nullptr) return NOT_INITIALIZED;
    *handle = new Handle();
    return SUCCESS;
}
int cudnnDestroy(Handle* handle) {
    delete handle;
    return SUCCESS;
}
int cudnnSetStream(Handle* handle, void* stream) {
    if (handle == nullptr) return BAD_PARAM_NULL_POINTER;
    handle->stream = stream;
    return SUCCESS;
}

int cudnnCreateTensorDescriptor(TensorDesc** d) {
    if (d == nullptr) return BAD_PARAM_NULL_POINTER;
    *d = new TensorDesc();
    return SUCCESS;
}
int cudnnDestroyTensorDescriptor(TensorDesc* d) {
    delete d;
    return SUCCESS;
}
int cudnnSetTensor4dDescriptor(TensorDesc* d, int format, int type, int n, int c, int h, int w) {
    if (d == nullptr) return BAD_PARAM_NULL_POINTER;
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0) return BAD_PARAM;
    if (type != DATA_FLOAT && type != DATA_HALF && type != DATA_BFLOAT16) return NOT_SUPPORTED;
    if (format != TENSOR_NCHW) return NOT_SUPPORTED;
    *d = TensorDesc{true, type, n, c, h, w};
    return SUCCESS;
}

int cudnnCreateFilterDescriptor(FilterDesc** d) {
    if (d == nullptr) return BAD_PARAM_NULL_POINTER;
    *d = new FilterDesc();
    return SUCCESS;
}
int cudnnDestroyFilterDescriptor(FilterDesc* d) {
    delete d;
    return SUCCESS;
}
// Note cuDNN's argument order: the data type comes before the format here, after it for tensors.
int cudnnSetFilter4dDescriptor(FilterDesc* d, int type, int format, int k, int c, int h, int w) {
    if (d == nullptr) return BAD_PARAM_NULL_POINTER;
    if (k <= 0 || c <= 0 || h <= 0 || w <= 0) return BAD_PARAM;
    if (type != DATA_FLOAT && type != DATA_HALF && type != DATA_BFLOAT16) return NOT_SUPPORTED;
    if (format != TENSOR_NCHW) return NOT_SUPPORTED;
    *d = FilterDesc{true, type, k, c, h, w};
    return SUCCESS;
}

int cudnnCreateConvolutionDescriptor(ConvDesc** d) {
    if (d == nullptr) return BAD_PARAM_NULL_POINTER;
    *d = new ConvDesc();
    return SUCCESS;
}
int cudnnDestroyConvolutionDescriptor(ConvDesc* d) {
    delete d;
    return SUCCESS;
}
int cudnnSetConvolution2dDescriptor(ConvDesc* d, int pad_h, int pad_w, int u, int v, int dilation_h, int dilation_w,
                                    int mode, int compute) {
    if (d == nullptr) return BAD_PARAM_NULL_POINTER;
    if (pad_h < 0 || pad_w < 0 || u <= 0 || v <= 0 || dilation_h <= 0 || dilation_w <= 0) return BAD_PARAM;
    if (mode != CONVOLUTION && mode != CROSS_CORRELATION) return BAD_PARAM;
    if (dilation_h != 1 || dilation_w != 1) return NOT_SUPPORTED;
    const int math = d->math;
    *d = ConvDesc{true, pad_h, pad_w, u, v, mode, compute, math};
    return SUCCESS;
}
int cudnnSetConvolutionMathType(ConvDesc* d, int math) {
    if (d == nullptr) return BAD_PARAM_NULL_POINTER;
    if (math < DEFAULT_MATH || math > FMA_MATH) return BAD_PARAM;
    d->math = math;
    return SUCCESS;
}

int cudnnGetConvolutionForwardAlgorithm_v7(Handle* h, const TensorDesc* x, const FilterDesc* w, const ConvDesc* conv,
                                           const TensorDesc* y, int requested, int* returned, AlgoPerf* perf) {
    return heuristics("cudnnGetConvolutionForwardAlgorithm_v7", h, x, w, conv, y, requested, returned, perf);
}
int cudnnGetConvolutionForwardWorkspaceSize(Handle* h, const TensorDesc* x, const FilterDesc* w,
                                            const ConvDesc* conv, const TensorDesc* y, int algo, size_t* bytes) {
    return workspace_size("cudnnGetConvolutionForwardWorkspaceSize", h, x, w, conv, y, algo, bytes);
}
int cudnnGetConvolutionBackwardDataAlgorithm_v7(Handle* h, const FilterDesc* w, const TensorDesc* dy,
                                                const ConvDesc* conv, const TensorDesc* dx, int requested,
                                                int* returned, AlgoPerf* perf) {
    return heuristics("cudnnGetConvolutionBackwardDataAlgorithm_v7", h, dx, w, conv, dy, requested, returned, perf);
}
int cudnnGetConvolutionBackwardDataWorkspaceSize(Handle* h, const FilterDesc* w, const TensorDesc* dy,
                                                 const ConvDesc* conv, const TensorDesc* dx, int algo,
                                                 size_t* bytes) {
    return workspace_size("cudnnGetConvolutionBackwardDataWorkspaceSize", h, dx, w, conv, dy, algo, bytes);
}
int cudnnGetConvolutionBackwardFilterAlgorithm_v7(Handle* h, const TensorDesc* x, const TensorDesc* dy,
                                                  const ConvDesc* conv, const FilterDesc* dw, int requested,
                                                  int* returned, AlgoPerf* perf) {
    return heuristics("cudnnGetConvolutionBackwardFilterAlgorithm_v7", h, x, dw, conv, dy, requested, returned,
                      perf);
}
int cudnnGetConvolutionBackwardFilterWorkspaceSize(Handle* h, const TensorDesc* x, const TensorDesc* dy,
                                                   const ConvDesc* conv, const FilterDesc* dw, int algo,
                                                   size_t* bytes) {
    return workspace_size("cudnnGetConvolutionBackwardFilterWorkspaceSize", h, x, dw, conv, dy, algo, bytes);
}

// y = alpha * conv(x, w) + beta * y
int cudnnConvolutionForward(Handle* h, const float* alpha, const TensorDesc* xd, const void* x, const FilterDesc* wd,
                            const void* w, const ConvDesc* conv, int algo, void* workspace, size_t workspace_bytes,
                            const float* beta, const TensorDesc* yd, void* y) {
    if (h == nullptr || alpha == nullptr || beta == nullptr) return BAD_PARAM_NULL_POINTER;
    const Operand data[3] = {{"x", x, xd ? tensor_bytes(xd) : 0}, {"w", w, wd ? filter_bytes(wd) : 0},
                             {"y", y, yd ? tensor_bytes(yd) : 0}};
    if (int rc = prepare("cudnnConvolutionForward", xd, wd, conv, yd, algo, data, workspace, workspace_bytes);
        rc != SUCCESS) {
        return rc;
    }
    const bool tf32 = tf32_inputs(xd, conv);
    const int t = xd->type;
    for (int n = 0; n < yd->n; n++) {
        for (int k = 0; k < yd->c; k++) {
            for (int oy = 0; oy < yd->h; oy++) {
                for (int ox = 0; ox < yd->w; ox++) {
                    double s = 0;
                    for (int c = 0; c < xd->c; c++) {
                        for (int r = 0; r < wd->h; r++) {
                            const int iy = oy * conv->stride_h - conv->pad_h + r;
                            if (iy < 0 || iy >= xd->h) continue;
                            for (int q = 0; q < wd->w; q++) {
                                const int ix = ox * conv->stride_w - conv->pad_w + q;
                                if (ix < 0 || ix >= xd->w) continue;
                                const int64_t xi = ((int64_t(n) * xd->c + c) * xd->h + iy) * xd->w + ix;
                                const int64_t wi = ((int64_t(k) * wd->c + c) * wd->h + tap(r, wd->h, conv->mode))
                                        * wd->w + tap(q, wd->w, conv->mode);
                                s += double(load(x, t, xi, tf32)) * load(w, t, wi, tf32);
                            }
                        }
                    }
                    const int64_t yi = ((int64_t(n) * yd->c + k) * yd->h + oy) * yd->w + ox;
                    const double prior = *beta == 0 ? 0 : double(*beta) * load(y, t, yi, false);
                    store(y, t, yi, float(double(*alpha) * s + prior));
                }
            }
        }
    }
    return SUCCESS;
}

// dx = alpha * conv^T(dy, w) + beta * dx
int cudnnConvolutionBackwardData(Handle* h, const float* alpha, const FilterDesc* wd, const void* w,
                                 const TensorDesc* dyd, const void* dy, const ConvDesc* conv, int algo,
                                 void* workspace, size_t workspace_bytes, const float* beta, const TensorDesc* dxd,
                                 void* dx) {
    if (h == nullptr || alpha == nullptr || beta == nullptr) return BAD_PARAM_NULL_POINTER;
    const Operand data[3] = {{"w", w, wd ? filter_bytes(wd) : 0}, {"dy", dy, dyd ? tensor_bytes(dyd) : 0},
                             {"dx", dx, dxd ? tensor_bytes(dxd) : 0}};
    if (int rc = prepare("cudnnConvolutionBackwardData", dxd, wd, conv, dyd, algo, data, workspace,
                         workspace_bytes);
        rc != SUCCESS) {
        return rc;
    }
    const bool tf32 = tf32_inputs(dxd, conv);
    const int t = dxd->type;
    std::vector<double> sums(size_t(dxd->n) * dxd->c * dxd->h * dxd->w, 0.0);
    for (int n = 0; n < dyd->n; n++) {
        for (int k = 0; k < dyd->c; k++) {
            for (int oy = 0; oy < dyd->h; oy++) {
                for (int ox = 0; ox < dyd->w; ox++) {
                    const double g = load(dy, t, ((int64_t(n) * dyd->c + k) * dyd->h + oy) * dyd->w + ox, tf32);
                    for (int c = 0; c < dxd->c; c++) {
                        for (int r = 0; r < wd->h; r++) {
                            const int iy = oy * conv->stride_h - conv->pad_h + r;
                            if (iy < 0 || iy >= dxd->h) continue;
                            for (int q = 0; q < wd->w; q++) {
                                const int ix = ox * conv->stride_w - conv->pad_w + q;
                                if (ix < 0 || ix >= dxd->w) continue;
                                const int64_t wi = ((int64_t(k) * wd->c + c) * wd->h + tap(r, wd->h, conv->mode))
                                        * wd->w + tap(q, wd->w, conv->mode);
                                sums[((size_t(n) * dxd->c + c) * dxd->h + iy) * dxd->w + ix] +=
                                        g * load(w, t, wi, tf32);
                            }
                        }
                    }
                }
            }
        }
    }
    for (size_t i = 0; i < sums.size(); i++) {
        const double prior = *beta == 0 ? 0 : double(*beta) * load(dx, t, int64_t(i), false);
        store(dx, t, int64_t(i), float(double(*alpha) * sums[i] + prior));
    }
    return SUCCESS;
}

// dw = alpha * sum over the batch of dy (x) x + beta * dw
int cudnnConvolutionBackwardFilter(Handle* h, const float* alpha, const TensorDesc* xd, const void* x,
                                   const TensorDesc* dyd, const void* dy, const ConvDesc* conv, int algo,
                                   void* workspace, size_t workspace_bytes, const float* beta, const FilterDesc* dwd,
                                   void* dw) {
    if (h == nullptr || alpha == nullptr || beta == nullptr) return BAD_PARAM_NULL_POINTER;
    const Operand data[3] = {{"x", x, xd ? tensor_bytes(xd) : 0}, {"dy", dy, dyd ? tensor_bytes(dyd) : 0},
                             {"dw", dw, dwd ? filter_bytes(dwd) : 0}};
    if (int rc = prepare("cudnnConvolutionBackwardFilter", xd, dwd, conv, dyd, algo, data, workspace,
                         workspace_bytes);
        rc != SUCCESS) {
        return rc;
    }
    const bool tf32 = tf32_inputs(xd, conv);
    const int t = xd->type;
    for (int k = 0; k < dwd->k; k++) {
        for (int c = 0; c < dwd->c; c++) {
            for (int r = 0; r < dwd->h; r++) {
                for (int q = 0; q < dwd->w; q++) {
                    double s = 0;
                    for (int n = 0; n < xd->n; n++) {
                        for (int oy = 0; oy < dyd->h; oy++) {
                            const int iy = oy * conv->stride_h - conv->pad_h + r;
                            if (iy < 0 || iy >= xd->h) continue;
                            for (int ox = 0; ox < dyd->w; ox++) {
                                const int ix = ox * conv->stride_w - conv->pad_w + q;
                                if (ix < 0 || ix >= xd->w) continue;
                                s += double(load(dy, t, ((int64_t(n) * dyd->c + k) * dyd->h + oy) * dyd->w + ox,
                                                 tf32))
                                        * load(x, t, ((int64_t(n) * xd->c + c) * xd->h + iy) * xd->w + ix, tf32);
                            }
                        }
                    }
                    const int64_t wi = ((int64_t(k) * dwd->c + c) * dwd->h + tap(r, dwd->h, conv->mode)) * dwd->w
                            + tap(q, dwd->w, conv->mode);
                    const double prior = *beta == 0 ? 0 : double(*beta) * load(dw, t, wi, false);
                    store(dw, t, wi, float(double(*alpha) * s + prior));
                }
            }
        }
    }
    return SUCCESS;
}

}  // extern "C"
