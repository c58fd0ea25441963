package io.texforce.tensor.io.torch;

import io.texforce.tensor.Shape;

/**
 * A tensor as a PyTorch pickle describes it: a strided view of a storage, rebuilt by
 * {@code torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)}. The data stays in the file until
 * read.
 *
 * @param storage the storage's key in the file
 * @param type    the element type
 * @param offset  the first element's index in the storage
 * @param shape   the sizes
 * @param stride  the strides, in elements
 */
public record TorchTensor(String storage, StorageType type, long offset, int[] shape, long[] stride) {
    public TorchTensor {
        if (shape.length != stride.length) {
            throw new IllegalArgumentException("tensor of size " + Shape.str(shape) + " with " + stride.length
                    + " strides");
        }
    }

    public int numel() {
        return Shape.numel(shape);
    }

    /** The storage elements the view reaches: one past its largest index. */
    public long extent() {
        long last = offset;
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] == 0) {
                return offset;
            }
            last += (long) (shape[d] - 1) * stride[d];
        }
        return last + 1;
    }

    @Override
    public String toString() {
        return type.className() + " tensor " + Shape.str(shape) + " at element " + offset + " of storage " + storage;
    }
}
