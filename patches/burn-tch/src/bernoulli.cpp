// Patch (logreg, not in burn-tch 0.22.1): Bernoulli masks (dropout's) for f32 CPU tensors.
// LibTorch 2.9's `bernoulli_(p)` on the CPU draws every value on one thread from the default
// generator's mt19937 and a double-precision uniform (`templates::cpu::bernoulli_kernel` through
// `cpu_serial_kernel`), about 9 ns a value here: 5.6 % of a CNN epoch's profile for the two
// dropout layers (docs/benchmarks.md). This draws one 64-bit seed from the same default
// generator (so `manual_seed` still makes runs repeat), then value j from SplitMix64's output
// function at counter j, which needs no state carried from one value to the next and so splits
// over threads and runs in well under a nanosecond a value. SplitMix64 (Steele, Lea and Flood,
// "Fast splittable pseudorandom number generators", 2014) passes BigCrush; dropout needs far less.
// See PATCHED.md.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>

namespace {

// SplitMix64's output function of its state `z` (the reference's mix64 variant 13).
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

extern "C" {

// Fills `tensor` (f32, CPU, contiguous) with 1 where a uniform draw falls below `p` and 0
// elsewhere, and returns NULL; or returns a message allocated with malloc that the caller frees.
// Each 64-bit draw makes two values, from its low and high 32 bits: a value is 1 with
// probability round(p * 2^32) / 2^32, so exactly 0 for p = 0 and 1 for p = 1.
char *burn_tch_bernoulli_f32_(const at::Tensor *tensor, double p) {
  try {
    TORCH_CHECK(tensor->scalar_type() == at::kFloat, "bernoulli_f32_ takes f32");
    TORCH_CHECK(tensor->device().is_cpu(), "bernoulli_f32_ runs on the CPU");
    TORCH_CHECK(tensor->is_contiguous(), "bernoulli_f32_ takes a contiguous tensor");
    TORCH_CHECK(p >= 0.0 && p <= 1.0, "bernoulli_f32_: p must be in [0, 1], got ", p);
    const uint64_t threshold = static_cast<uint64_t>(std::llround(p * 4294967296.0));
    uint64_t seed;
    {
      at::Generator generator = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(generator.mutex());
      seed = at::check_generator<at::CPUGeneratorImpl>(generator)->random64();
    }
    float *values = tensor->data_ptr<float>();
    const int64_t count = tensor->numel();
    const int64_t pairs = (count + 1) / 2;
    constexpr uint64_t gamma = 0x9E3779B97F4A7C15ULL;  // SplitMix64's increment
    at::parallel_for(0, pairs, 16384, [&](int64_t begin, int64_t end) {
      for (int64_t pair = begin; pair < end; ++pair) {
        const uint64_t bits = mix64(seed + static_cast<uint64_t>(pair + 1) * gamma);
        const int64_t at = 2 * pair;
        values[at] = (bits & 0xFFFFFFFFULL) < threshold ? 1.0f : 0.0f;
        if (at + 1 < count) values[at + 1] = (bits >> 32) < threshold ? 1.0f : 0.0f;
      }
    });
    return nullptr;
  } catch (const std::exception &e) {
    return strdup(e.what());
  }
}
}
