// The emulated GPU's generation, as tfemu_configure set it (cuBLAS checks it as the real one does).
#pragma once

namespace tfemu {

int compute_capability();  // e.g. 75, 90

}  // namespace tfemu
