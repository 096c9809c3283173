// CPU features, detected once, and the kernel-selection switches read from the
// environment (DYAD_KERNELS=ref, DYAD_ISA=..., DYAD_VERBOSE=dispatch).
// x86-64 reads CPUID and XCR0, 64-bit ARM Linux the kernel's hardware
// capabilities (getauxval AT_HWCAP / AT_HWCAP2); each reads the other's
// features as absent.
#pragma once

#include <cstddef>
#include <string>

namespace dyad::kernels {

// Every flag means "the CPU has it and the OS saves its register state"
// (XCR0 via xgetbv: YMM for AVX*, opmask + ZMM for AVX-512, tile data for AMX,
// and for AMX also the Linux permission arch_prctl(ARCH_REQ_XCOMP_PERM)).
struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool bmi2 = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512_vnni = false;
  bool avx512_bf16 = false;
  bool avx512_vbmi = false;
  bool avx_vnni = false;  // VEX-encoded vpdpbusd on ymm
  bool amx_tile = false;
  bool amx_int8 = false;
  // 64-bit ARM (HWCAP_ASIMD, HWCAP_ASIMDDP, HWCAP2_I8MM).
  bool asimd = false;     // Advanced SIMD (NEON): every armv8-a core running Linux has it
  bool asimddp = false;   // SDOT / UDOT (FEAT_DotProd, optional from Armv8.2-A)
  bool i8mm = false;      // SMMLA / UMMLA / USDOT (FEAT_I8MM, optional from Armv8.2-A)
};

// Detected on first call; cheap afterwards. With DYAD_VERBOSE=dispatch the
// first call logs cpu_summary() to stderr.
const CpuFeatures& cpu_features();

// Kernel ISA levels, ascending within each architecture (x86-64: kAvx2 ..
// kAmx; 64-bit ARM: kNeon .. kI8mm); DYAD_ISA caps dispatch at one of them.
enum class KernelIsa { kRef, kAvx2, kAvxVnni, kAvx512Vnni, kAmx, kNeon, kDotprod, kI8mm };

// "ref", "avx2", "avxvnni", "avx512vnni", "amx", "neon", "dotprod", "i8mm".
const char* kernel_isa_name(KernelIsa isa);

// The cap from DYAD_ISA=<a level of this build's architecture>|ref (read at
// each call, like DYAD_KERNELS); kI8mm (no cap) when unset. An unknown value,
// or a level of the other architecture, is reported once on stderr and ignored.
KernelIsa kernel_isa_cap();

// True when the CPU has every feature kernels of `isa` are compiled for
// (kAvx2: AVX2 + FMA + BMI2; kAvxVnni: those + AVX-VNNI; kAvx512Vnni: those +
// AVX-512 F/BW/VL + VNNI; kAmx: those + AMX-TILE/INT8; kNeon: Advanced SIMD;
// kDotprod: that + SDOT/UDOT; kI8mm: those + SMMLA). kRef: always. A level of
// the other architecture: never.
bool kernel_isa_present(KernelIsa isa);
// Present and allowed by the DYAD_ISA cap: what automatic dispatch may use.
// (A variant named explicitly, in tests and benchmarks, needs only present.)
bool kernel_isa_usable(KernelIsa isa);

// The element-wise AVX-512 kernels (*_avx512.cc: requantize, int_softmax,
// int_gelu) need AVX2 + AVX-512 F/BW/VL/DQ but no VNNI; dispatch uses them
// when the CPU has those and the DYAD_ISA cap is avx512vnni or above (so
// DYAD_ISA=avx2 and avxvnni keep them off).
bool avx512_elementwise_present();
bool avx512_elementwise_usable();

// "avx2 fma bmi2 avx512f ... amx-int8 (dispatch cap: none)": the detected
// features and the cap, for `dyad info` and the dispatch log.
std::string cpu_summary();

// The L2 cache of one core in bytes as the C library reports it (cpuid on
// x86); 0 where it does not know.
size_t l2_cache_bytes();

// True when DYAD_KERNELS=ref or DYAD_ISA=ref: every op uses its reference kernel.
bool force_reference_kernels();
// True when DYAD_VERBOSE contains "dispatch": log each kernel choice to stderr.
bool verbose_dispatch();

}  // namespace dyad::kernels
