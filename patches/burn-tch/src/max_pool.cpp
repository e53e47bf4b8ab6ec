// Patch (logreg, not in burn-tch 0.22.1): 2x2 max pooling with stride 2 on f32 CPU
// tensors, the layer every small CNN uses. LibTorch 2.9's CPU kernel (`cpu_max_pool`, generic in
// kernel size, stride, padding and dilation) takes 9.7 ms for a [128, 16, 28, 28] batch on one
// thread here (docs/benchmarks.md), 6 ns an input value, more than the convolution it follows.
// This loop gives the same values and indices without a branch on the data. See PATCHED.md.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>

namespace {

// One row of outputs: `top` and `bottom` are the two input rows under it, `first` the flat
// index of `top[0]` in its plane. LibTorch's rule (cpu_max_pool): scan each window in row-major
// order, take a value greater than the best so far or NaN; so ties go to the first, and the last
// NaN wins. Written as selects on 32-bit lanes, the window's winner as 0-3, and the int64 indices
// in a second loop, so that the compiler vectorises both loops: LibTorch's loop branches on every
// comparison, and which value wins is data, so it mispredicts.
void pool_row(const float *__restrict top, const float *__restrict bottom,
              float *__restrict out, int64_t *__restrict indices, int64_t columns, int64_t first,
              int64_t width) {
  constexpr int64_t chunk = 128;
  int32_t winner[chunk];
  for (int64_t start = 0; start < columns; start += chunk) {
    const int64_t count = std::min(chunk, columns - start);
    const float *upper = top + 2 * start;
    const float *lower = bottom + 2 * start;
    float *pooled = out + start;
    for (int64_t c = 0; c < count; ++c) {
      float best = upper[2 * c];
      int32_t which = 0;
      float value = upper[2 * c + 1];
      bool wins = (value > best) | (value != value);
      best = wins ? value : best;
      which = wins ? 1 : which;
      value = lower[2 * c];
      wins = (value > best) | (value != value);
      best = wins ? value : best;
      which = wins ? 2 : which;
      value = lower[2 * c + 1];
      wins = (value > best) | (value != value);
      best = wins ? value : best;
      which = wins ? 3 : which;
      pooled[c] = best;
      winner[c] = which;
    }
    if (indices) {
      int64_t *found = indices + start;
      const int64_t base = first + 2 * start;
      for (int64_t c = 0; c < count; ++c)
        found[c] = base + 2 * c + (winner[c] >> 1) * width + (winner[c] & 1);
    }
  }
}

}  // namespace

extern "C" {

// Max pooling of `input` ([batch, channels, height, width], f32, CPU, height and width at least
// 2) with a 2x2 kernel, stride 2, no padding and no dilation (odd sides drop their last row or
// column, as LibTorch's floor mode does). Writes the pooled values into `output` and, when
// `want_indices` is non-zero, LibTorch's indices (int64, flat within each height x width plane)
// into `indices`, as new tensors, and returns NULL; or returns a message allocated with malloc
// that the caller frees.
char *burn_tch_max_pool2d_2x2(const at::Tensor *input, int want_indices, at::Tensor **output,
                              at::Tensor **indices) {
  try {
    TORCH_CHECK(input->dim() == 4, "max_pool2d_2x2 takes 4 dimensions, got ", input->dim());
    TORCH_CHECK(input->scalar_type() == at::kFloat, "max_pool2d_2x2 takes f32");
    TORCH_CHECK(input->device().is_cpu(), "max_pool2d_2x2 runs on the CPU");
    const at::Tensor x = input->contiguous();
    const int64_t planes = x.size(0) * x.size(1);
    const int64_t height = x.size(2), width = x.size(3);
    TORCH_CHECK(height >= 2 && width >= 2, "max_pool2d_2x2 needs sides of at least 2");
    const int64_t out_height = height / 2, out_width = width / 2;
    at::Tensor pooled = at::empty({x.size(0), x.size(1), out_height, out_width}, x.options());
    at::Tensor positions;
    if (want_indices) positions = at::empty(pooled.sizes(), x.options().dtype(at::kLong));

    const float *source = x.const_data_ptr<float>();
    float *values = pooled.data_ptr<float>();
    int64_t *found = want_indices ? positions.data_ptr<int64_t>() : nullptr;
    const int64_t plane_in = height * width, plane_out = out_height * out_width;
    // About 16 K outputs a task: smaller batches stay on the calling thread.
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, plane_out));
    at::parallel_for(0, planes, grain, [&](int64_t begin, int64_t end) {
      for (int64_t plane = begin; plane < end; ++plane) {
        const float *in = source + plane * plane_in;
        float *out = values + plane * plane_out;
        int64_t *at_index = found ? found + plane * plane_out : nullptr;
        for (int64_t row = 0; row < out_height; ++row) {
          const float *top = in + 2 * row * width;
          pool_row(top, top + width, out + row * out_width,
                   at_index ? at_index + row * out_width : nullptr, out_width, 2 * row * width,
                   width);
        }
      }
    });
    *output = new at::Tensor(pooled);
    if (want_indices) *indices = new at::Tensor(positions);
    return nullptr;
  } catch (const std::exception &e) {
    return strdup(e.what());
  }
}
}
