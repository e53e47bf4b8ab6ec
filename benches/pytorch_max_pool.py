#!/usr/bin/env python3
"""LibTorch's CPU max pooling alone: 2x2, stride 2, with indices, as the zoo's CNN calls it.

    $(benches/setup-venv.sh) benches/pytorch_max_pool.py

Prints, for 1 and 2 threads and the shapes of the zoo CNN's two poolings in training (batch 128)
and its first in evaluation (batch 1000), the mean time of 50 calls of
F.max_pool2d(x, 2, 2, return_indices=True) on torch.randn(shape) after 5 warm-up calls, and the
time per input value. The burn-tch patch replaces this kernel for these calls
(patches/burn-tch/PATCHED.md; figures in docs/benchmarks.md).
"""
import time

import torch
import torch.nn.functional as F

SHAPES = ((128, 16, 28, 28), (128, 32, 14, 14), (1000, 16, 28, 28))
CALLS = 50

for threads in (1, 2):
    torch.set_num_threads(threads)
    for shape in SHAPES:
        x = torch.randn(*shape)
        for _ in range(5):
            F.max_pool2d(x, 2, 2, return_indices=True)
        start = time.perf_counter()
        for _ in range(CALLS):
            F.max_pool2d(x, 2, 2, return_indices=True)
        seconds = (time.perf_counter() - start) / CALLS
        print(f"{threads} thread(s), {'x'.join(map(str, shape))}: {seconds * 1e3:.2f} ms, "
              f"{seconds * 1e9 / x.numel():.2f} ns per input value")
