// A gather along the last axis whose backward pass is itself a gather (docs/ARCHITECTURE.md,
// "Determinism"): `out[..., j] = src[..., index[j]]`, where an index equal to the axis length
// reads 0 (a zero-padding guard that failed). `index_select`'s backward is a scatter-add, which
// on a GPU adds with atomics in no fixed order; here the gradient of `src[..., i]` is the sum,
// in a fixed order, of the `mult` gradients `grad[..., inverse[i * mult + m]]`, an inverse
// index equal to the output length reading 0. Deterministic on every device.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// `t` with a zero appended along its last axis.
at::Tensor with_zero(const at::Tensor& t) {
  auto shape = t.sizes().vec();
  shape.back() = 1;
  return at::cat({t, at::zeros(shape, t.options())}, -1);
}

struct KasGather : public torch::autograd::Function<KasGather> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& src, const at::Tensor& index,
                            const at::Tensor& inverse, int64_t mult) {
    ctx->save_for_backward({inverse});
    ctx->saved_data["mult"] = mult;
    ctx->saved_data["len"] = src.size(-1);
    return with_zero(src).index_select(-1, index);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto inverse = ctx->get_saved_variables()[0];
    const int64_t mult = ctx->saved_data["mult"].toInt();
    const int64_t len = ctx->saved_data["len"].toInt();
    auto picked = with_zero(grads[0]).index_select(-1, inverse);
    auto shape = picked.sizes().vec();
    shape.back() = len;
    shape.push_back(mult);
    return {picked.reshape(shape).sum(-1), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

extern "C" {

// `*out` receives a new tensor (the caller owns it, as torch-sys's tensors). 0 on success, 1
// when libtorch threw.
int kas_gather(const at::Tensor* src, const at::Tensor* index, const at::Tensor* inverse,
               int64_t mult, at::Tensor** out) {
  try {
    *out = new at::Tensor(KasGather::apply(*src, *index, *inverse, mult));
    return 0;
  } catch (...) {
    return 1;
  }
}

}  // extern "C"
