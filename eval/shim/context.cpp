// libtorch's global context switches that tch does not expose (docs/ARCHITECTURE.md,
// "Precision"): TF32 in cuDNN and cuBLAS, deterministic cuDNN, the autocast dtype.
// Every function returns 0 on success and 1 when libtorch threw (the message is dropped:
// the Rust side names the call).
#include <ATen/Context.h>
#include <ATen/autocast_mode.h>

extern "C" {

int kas_ctx_set_tf32(int conv, int matmul) {
  try {
    at::globalContext().setAllowTF32CuDNN(conv != 0);
    at::globalContext().setAllowTF32CuBLAS(matmul != 0);
    return 0;
  } catch (...) {
    return 1;
  }
}

int kas_ctx_tf32(int* conv, int* matmul) {
  try {
    *conv = at::globalContext().allowTF32CuDNN() ? 1 : 0;
    *matmul = at::globalContext().allowTF32CuBLAS() ? 1 : 0;
    return 0;
  } catch (...) {
    return 1;
  }
}

int kas_ctx_set_deterministic(int on) {
  try {
    at::globalContext().setDeterministicCuDNN(on != 0);
    at::globalContext().setBenchmarkCuDNN(on == 0);
    return 0;
  } catch (...) {
    return 1;
  }
}

int kas_ctx_deterministic(int* on) {
  try {
    *on = at::globalContext().deterministicCuDNN() ? 1 : 0;
    return 0;
  } catch (...) {
    return 1;
  }
}

int kas_ctx_set_autocast_bf16(void) {
  try {
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    return 0;
  } catch (...) {
    return 1;
  }
}

}  // extern "C"
