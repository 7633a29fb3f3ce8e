//! `<name>_torch.cpp`: the PyTorch operators `torch.ops.kas_<name>.forward(x, weights, shape)`
//! and `backward(grad, x, weights, shape, mask)` over the C API of `<name>_batched.h`: they
//! check every tensor (CUDA, the export's dtype, contiguous, the shape's extents, one
//! device) with a one-line error, allocate the outputs and the scratch memory through
//! PyTorch's allocator and launch on PyTorch's current CUDA stream.

use super::Plan;
use crate::precision::Precision;

/// The source.
pub(super) fn source(plan: &Plan<'_>) -> String {
    let base = &plan.base;
    let (dtype, dtype_name) = match plan.precision {
        Precision::Bf16 => ("at::kBFloat16", "torch.bfloat16"),
        _ => ("at::kFloat", "torch.float32"),
    };
    let precision = plan.precision.label();
    format!(
        r#"// kas export of `{name}` at {precision}: the PyTorch operators torch.ops.kas_{base}.forward and
// torch.ops.kas_{base}.backward (see PYTORCH.md). Built by {base}.py with
// torch.utils.cpp_extension.load together with {base}_batched.cu.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <string>
#include <vector>

#include "{base}_batched.h"

namespace {{

const char *const kOp = "kas {name}";

std::vector<int64_t> shape_of(int64_t shape, int tensor, int64_t batch)
{{
    long long dims[8];
    const int rank = {base}_tensor_shape((int)shape, tensor, dims);
    TORCH_CHECK(rank >= 0, kOp, ": no tensor ", tensor, " in shape ", shape);
    std::vector<int64_t> v(dims, dims + rank);
    if (batch >= 0 && rank > 0) v[0] = batch;
    return v;
}}

// A dense CUDA tensor of the export's dtype with the expected extents, on `device` if given.
void check_tensor(const at::Tensor &t, const std::string &what, const std::vector<int64_t> &want,
                  int64_t shape, const at::Tensor *like)
{{
    TORCH_CHECK(t.defined(), kOp, ": ", what, " is undefined");
    TORCH_CHECK(t.is_cuda(), kOp, ": ", what, " must be a CUDA tensor, got one on ", t.device());
    TORCH_CHECK(t.scalar_type() == {dtype}, kOp, ": ", what, " must be {dtype_name} (the bundle was exported at {precision}), got ",
                t.scalar_type());
    TORCH_CHECK(t.is_contiguous(), kOp, ": ", what,
                " must be contiguous (dense, row-major): call .contiguous() on it first");
    TORCH_CHECK(t.sizes() == at::IntArrayRef(want), kOp, ": ", what, " has shape ", t.sizes(), ", shape `",
                {base}_shape_name((int)shape), "` needs ", at::IntArrayRef(want));
    if (like) TORCH_CHECK(t.device() == like->device(), kOp, ": ", what, " is on ", t.device(), ", the input on ", like->device());
}}

int64_t check_inputs(const at::Tensor &x, at::TensorList w, int64_t shape)
{{
    TORCH_CHECK(shape >= 0 && shape < {base}_shape_count(), kOp, ": no shape ", shape, " (", {base}_shape_count(),
                " exported)");
    TORCH_CHECK(x.defined() && x.dim() >= 1 && x.size(0) >= 1, kOp, ": the input needs a batch axis of at least 1");
    const int64_t n = x.size(0);
    check_tensor(x, "the input", shape_of(shape, 0, n), shape, nullptr);
    const int count = {base}_tensor_count();
    TORCH_CHECK((int64_t)w.size() == count - 1, kOp, ": ", count - 1, " weights expected, got ", w.size());
    for (int t = 1; t < count; ++t)
        check_tensor(w[t - 1], "weight w" + std::to_string(t), shape_of(shape, t, -1), shape, &x);
    return n;
}}

// Runs direction `direction` into `out` on the current stream, its scratch memory from PyTorch.
void launch(int64_t shape, int direction, int64_t n, const at::Tensor &x, at::TensorList w, const void *upstream,
            at::Tensor &out)
{{
    std::vector<const void *> tensors{{x.data_ptr()}};
    for (const auto &t : w) tensors.push_back(t.data_ptr());
    const size_t bytes = {base}_scratch_bytes((int)shape, direction, n);
    at::Tensor scratch;
    if (bytes) scratch = at::empty({{(int64_t)bytes}}, x.options().dtype(at::kByte));
    cudaStream_t stream = c10::cuda::getCurrentCUDAStream(x.device().index()).stream();
    const cudaError_t e = {base}_run((int)shape, direction, n, tensors.data(), upstream, out.data_ptr(),
                                     bytes ? scratch.data_ptr() : nullptr, stream);
    TORCH_CHECK(e == cudaSuccess, kOp, ": launching the kernels failed: ", cudaGetErrorString(e));
}}

at::Tensor forward(const at::Tensor &x, at::TensorList w, int64_t shape)
{{
    const int64_t n = check_inputs(x, w, shape);
    const c10::cuda::CUDAGuard guard(x.device());
    at::Tensor out = at::empty(shape_of(shape, {base}_tensor_count(), n), x.options());
    launch(shape, 0, n, x, w, nullptr, out);
    return out;
}}

// The gradients of <grad, forward(x, w)> with respect to the tensors whose bit is set in `mask`
// (bit 0: the input, bit t: weight t), in that order.
std::vector<at::Tensor> backward(const at::Tensor &grad, const at::Tensor &x, at::TensorList w, int64_t shape,
                                 int64_t mask)
{{
    const int64_t n = check_inputs(x, w, shape);
    check_tensor(grad, "the output gradient", shape_of(shape, {base}_tensor_count(), n), shape, &x);
    const c10::cuda::CUDAGuard guard(x.device());
    std::vector<at::Tensor> grads;
    for (int t = 0; t < {base}_tensor_count(); ++t) {{
        if (!((mask >> t) & 1)) continue;
        TORCH_CHECK({base}_has_kernels(1 + t), kOp, ": tensor ", t,
                    " has no gradient operator, hence no gradient kernels ({base}.py computes its gradient from the formula)");
        at::Tensor g = at::empty(shape_of(shape, t, t == 0 ? n : -1), x.options());
        launch(shape, 1 + t, n, x, w, grad.data_ptr(), g);
        grads.push_back(g);
    }}
    return grads;
}}

}} // namespace

TORCH_LIBRARY(kas_{base}, m)
{{
    m.def("forward", &forward);
    m.def("backward", &backward);
}}
"#,
        name = plan.name
    )
}
