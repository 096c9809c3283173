// Inline vector helpers are compiled into files built with different -m flags
// (*_avx2.cc, *_avxvnni.cc, *_avx512.cc, *_avx512vnni.cc; on ARM *_dotprod.cc
// and *_i8mm.cc, while *_neon.cc share the baseline's flags and namespace). The linker keeps one copy of
// each inline function or template instance it sees in several objects; if it
// kept one compiled with -mavx512f, an AVX2-only CPU would fault inside the
// AVX2 kernels. Headers of such helpers therefore put their contents in this
// inline namespace, named after the flags of the including file, so every
// ISA gets its own copies (and the callers' code is unchanged).
#pragma once

#if defined(__AVX512VNNI__)
#define DYAD_ISA_NAMESPACE isa_avx512vnni
#elif defined(__AVX512F__)
#define DYAD_ISA_NAMESPACE isa_avx512
#elif defined(__AVXVNNI__)
#define DYAD_ISA_NAMESPACE isa_avxvnni
#elif defined(__AVX2__)
#define DYAD_ISA_NAMESPACE isa_avx2
#elif defined(__ARM_FEATURE_MATMUL_INT8)
#define DYAD_ISA_NAMESPACE isa_i8mm
#elif defined(__ARM_FEATURE_DOTPROD)
#define DYAD_ISA_NAMESPACE isa_dotprod
#else
#define DYAD_ISA_NAMESPACE isa_generic
#endif

// The per-vector helpers of the *_simd.h templates (one step's lanes). On
// 64-bit ARM a Simd operation is two NEON instructions (simd_neon.h), which
// doubles GCC's size estimate of these helpers, and it kept them out of line:
// a call per 8 elements, with the constants reloaded each time. There they
// are always inlined; elsewhere the compiler decides, as before.
#if defined(__aarch64__)
#define DYAD_SIMD_INLINE [[gnu::always_inline]] inline
#else
#define DYAD_SIMD_INLINE inline
#endif
