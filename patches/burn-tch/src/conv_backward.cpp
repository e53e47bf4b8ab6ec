// Patch (logreg, not in burn-tch 0.22.1): LibTorch's own convolution backward, which tch 0.22
// does not bind (its generator skips `convolution_backward`). See PATCHED.md.
#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <exception>

extern "C" {

// Computes the gradients of a (non-transposed) convolution with respect to its input and/or its
// weight, as `aten::convolution_backward` does for autograd. The tensors are tch's (`at::Tensor*`).
// Writes new tensors into `grad_input` / `grad_weight` when asked for (`want_*` non-zero) and
// returns NULL, or returns a message allocated with malloc that the caller frees.
char *burn_tch_convolution_backward(const at::Tensor *grad_output, const at::Tensor *input,
                                    const at::Tensor *weight, const int64_t *stride,
                                    const int64_t *padding, const int64_t *dilation,
                                    int64_t spatial_dims, int64_t groups, int want_input,
                                    int want_weight, at::Tensor **grad_input,
                                    at::Tensor **grad_weight) {
  try {
    std::vector<int64_t> output_padding(spatial_dims, 0);
    auto grads = at::convolution_backward(
        *grad_output, *input, *weight, std::nullopt, at::IntArrayRef(stride, spatial_dims),
        at::IntArrayRef(padding, spatial_dims), at::IntArrayRef(dilation, spatial_dims), false,
        output_padding, groups, std::array<bool, 3>{want_input != 0, want_weight != 0, false});
    if (want_input) *grad_input = new at::Tensor(std::get<0>(grads));
    if (want_weight) *grad_weight = new at::Tensor(std::get<1>(grads));
    return nullptr;
  } catch (const std::exception &e) {
    return strdup(e.what());
  }
}
}
