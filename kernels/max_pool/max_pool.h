// Max pooling over NHWC windows (docs/format.md "max_pool"): the integers pass
// through unchanged; padded positions are ignored.
#pragma once

#include "kernels/common/pool2d.h"

namespace dyad::kernels {

class ThreadPool;

// src: [batch, in_h, in_w, channels]; dst: [batch, out_h, out_w, channels].
void max_pool__ref(const Pool2dParams& p, const void* src, void* dst, ThreadPool* pool);

}  // namespace dyad::kernels
