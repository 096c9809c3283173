// Direct convolution (groups == 1, NHWC, OHWI weights viewed as the GEMM's
// [out_c, kernel_h * kernel_w * in_c]): the GEMM's register tiles read each
// output pixel's window where it lies in a zero-point-padded copy of the
// input, so no window is ever gathered (im2col.h). The copy is one pass over
// the input; an im2col moves kernel_h * kernel_w times as many bytes, about a
// tenth of a 3x3 conv's time on VNNI CPUs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/conv2d/conv2d.h"
#include "kernels/gemm/gemm.h"

namespace dyad::kernels {

class ThreadPool;

// The GEMM's K for a direct convolution of p: the window's segments (a
// kernel row of adjacent taps, or one tap where dilation_w > 1), each padded
// to whole k quads. Equals kernel_h * kernel_w * in_c unless a segment's
// bytes are not a multiple of 4 (the stems: 7 x 3 and 3 x 3 bytes per row).
int64_t conv_direct_k(const Conv2dParams& p);

// OHWI weights [out_c, kernel_h * kernel_w * in_c] laid out for that K, the
// padding weights 0.
std::vector<int8_t> conv_direct_weights(const Conv2dParams& p, const std::vector<int8_t>& ohwi);

// True when a GEMM of `plan`'s variant suits a direct convolution of p: a
// VNNI variant with byte panels, groups 1, and a padded image at most twice
// the input plus 64 KiB (huge paddings keep the implicit GEMM), smaller
// than the M x K windows (a strided 1x1 conv gathers less than it would
// copy) and at most 16 MiB, and at most 4096 segments. Its K need not be
// conv_direct_k(p) yet.
bool conv_direct_suits(const GemmPlan& plan, const Conv2dParams& p);

// conv_direct_suits, and the plan's K is conv_direct_k(p): conv_direct_run
// may run it.
bool conv_direct_supported(const GemmPlan& plan, const Conv2dParams& p);

// The scratch conv_direct_run shares between its threads (the padded image
// and a table of tap offsets), a 64-byte multiple. Only for supported
// convolutions.
size_t conv_direct_shared_scratch_bytes(const Conv2dParams& p);

// dst [batch, out_h, out_w, out_c] (row stride out_c) from src [batch, in_h,
// in_w, in_c]. scratch, 64-byte aligned: conv_direct_shared_scratch_bytes(p)
// bytes, then gemm_scratch_bytes_per_thread(plan) bytes per thread. Bit for bit the GEMM of the im2col
// matrix, at every thread count.
void conv_direct_run(const GemmPlan& plan, const Conv2dParams& p, const uint8_t* src, void* dst,
                     ThreadPool* pool, uint8_t* scratch);

}  // namespace dyad::kernels
