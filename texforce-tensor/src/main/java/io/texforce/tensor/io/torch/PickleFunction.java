package io.texforce.tensor.io.torch;

import java.util.List;

/** A global that a pickle may call (opcode REDUCE) because the reader knows what it builds. */
@FunctionalInterface
public interface PickleFunction {
    Object call(List<Object> args);
}
