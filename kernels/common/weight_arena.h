// Long-lived packed weights (GEMM panels, V:N:M blobs) in 2 MiB-aligned
// chunks that Linux may back with transparent huge pages (MADV_HUGEPAGE:
// used when THP is "always" or "madvise", ignored when "never"). A model's
// weights are tens of MB read once per run: on 4 KiB pages every page costs
// a TLB walk and restarts the hardware prefetchers, which stop at page
// boundaries. Measured on AMD EPYC (Zen 5 class), BERT-base's 72 linears:
// 1.5-2 % faster (docs/performance.md, sixth pass).
//
// Allocation bumps through the newest chunk (a new one of 32 MiB, or the
// request rounded up to 2 MiB, when it is full); a chunk is unmapped when
// its last allocation is released. Memory is zero (fresh mappings) and never
// reused inside a chunk, so a chunk stays mapped while any allocation in it
// lives: at most one partly used chunk's pages are kept beyond what is live,
// plus the chunks that other long-lived allocations share. Thread safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dyad::kernels::weight_arena {

// `bytes` zero bytes, 64-byte aligned; nullptr when out of memory.
uint8_t* allocate(size_t bytes);

// Releases what allocate returned (nullptr: nothing).
void release(uint8_t* p);

// Chunks mapped now (for tests).
size_t chunks_mapped();

}  // namespace dyad::kernels::weight_arena
