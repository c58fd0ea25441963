// The kernels the emulator can launch: each entry pairs a kernel's name (as cuModuleGetFunction asks for it) with a
// launcher that unpacks the driver's parameter array (one address per argument) into a typed call.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

namespace tfemu {

using Launcher = void (*)(void* function, void** params);

struct KernelEntry {
    const char* name;
    void* function;
    Launcher launch;
};

template <class... A, std::size_t... I>
void call_unpacked(void (*f)(A...), void** params, std::index_sequence<I...>) {
    f(*static_cast<std::remove_cv_t<std::remove_reference_t<A>>*>(params[I])...);
}

template <class... A>
void launcher(void* function, void** params) {
    call_unpacked(reinterpret_cast<void (*)(A...)>(function), params, std::index_sequence_for<A...>{});
}

template <class... A>
KernelEntry entry(const char* name, void (*f)(A...)) {
    return KernelEntry{name, reinterpret_cast<void*>(f), &launcher<A...>};
}

// Defined by the generated kernels.cpp.
extern const KernelEntry kernels[];
extern const int kernel_count;

}  // namespace tfemu

#define TFEMU_KERNEL(name) ::tfemu::entry(#name, &name)
