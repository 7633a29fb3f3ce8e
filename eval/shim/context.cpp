// libtorch's global context switches that tch does not expose (docs/ARCHITECTURE.md,
// "Precision"): TF32 in cuDNN and cuBLAS, deterministic cuDNN, the autocast dtype.
// Every function returns 0 on success and 1 when libtorch threw (the message is dropped:
// the Rust side names the call).
#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <c10/core/impl/VirtualGuardImpl.h>

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

// An autocast region on CUDA through the current API (tch's wrapper calls the deprecated
// `at::autocast::is_enabled()` / `set_enabled()`, which print a warning at every call).
int kas_ctx_autocast_enter(int on, int* prev) {
  try {
    *prev = at::autocast::is_autocast_enabled(at::kCUDA) ? 1 : 0;
    at::autocast::set_autocast_enabled(at::kCUDA, on != 0);
    at::autocast::increment_nesting();
    return 0;
  } catch (...) {
    return 1;
  }
}

int kas_ctx_autocast_exit(int prev) {
  try {
    if (at::autocast::decrement_nesting() == 0) {
      at::autocast::clear_cache();
    }
    at::autocast::set_autocast_enabled(at::kCUDA, prev != 0);
    return 0;
  } catch (...) {
    return 1;
  }
}

int kas_ctx_autocast_enabled(int* on) {
  try {
    *on = at::autocast::is_autocast_enabled(at::kCUDA) ? 1 : 0;
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

// This thread's current CUDA stream on `device`: one of libtorch's pool streams (`pool` != 0)
// or the device's default stream; `*id` receives the stream's id. Through the device-generic
// guard, so that the shim links against c10 alone (throws without a CUDA backend).
int kas_ctx_use_stream(int device, int pool, long long* id) {
  try {
    c10::impl::VirtualGuardImpl impl(c10::DeviceType::CUDA);
    c10::Device d(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(device));
    c10::Stream s = pool != 0 ? impl.getStreamFromGlobalPool(d, false) : impl.getDefaultStream(d);
    impl.exchangeStream(s);
    *id = static_cast<long long>(s.id());
    return 0;
  } catch (...) {
    return 1;
  }
}

// The id of this thread's current CUDA stream on `device`.
int kas_ctx_current_stream(int device, long long* id) {
  try {
    c10::impl::VirtualGuardImpl impl(c10::DeviceType::CUDA);
    c10::Device d(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(device));
    *id = static_cast<long long>(impl.getStream(d).id());
    return 0;
  } catch (...) {
    return 1;
  }
}

// The native handle (a `cudaStream_t`, which is a `CUstream`) of this thread's current CUDA
// stream on `device`: what kas's kernels launch on so that they are ordered with libtorch's
// work, and captured with it into one CUDA graph. The default stream's handle is null (the
// legacy default stream).
int kas_ctx_current_stream_handle(int device, void** handle) {
  try {
    c10::impl::VirtualGuardImpl impl(c10::DeviceType::CUDA);
    c10::Device d(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(device));
    *handle = impl.getStream(d).native_handle();
    return 0;
  } catch (...) {
    return 1;
  }
}

}  // extern "C"
