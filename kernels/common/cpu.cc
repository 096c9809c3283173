#include "kernels/common/cpu.h"

#include "kernels/common/log.h"
#include "kernels/common/strfmt.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#endif
#if defined(__linux__) && defined(__aarch64__)
#include <sys/auxv.h>
#endif

namespace dyad::kernels {

namespace {

#if defined(__x86_64__) || defined(__i386__)
struct CpuidRegs {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

CpuidRegs cpuid(uint32_t leaf, uint32_t subleaf) {
  CpuidRegs r;
  if (!__get_cpuid_count(leaf, subleaf, &r.eax, &r.ebx, &r.ecx, &r.edx)) return CpuidRegs{};
  return r;
}

bool bit(uint32_t reg, int b) { return (reg >> b) & 1u; }

// XCR0: which register states the OS saves on a context switch. Read only
// when CPUID says OSXSAVE (else xgetbv faults).
uint64_t xcr0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t{hi} << 32) | lo;
}

// Linux keeps AMX tile data off until the process asks for it (kernel 5.16+);
// without this the first tile instruction kills the process.
bool request_amx_permission() {
#if defined(__linux__) && defined(__x86_64__)
  constexpr long kArchReqXcompPerm = 0x1023;  // ARCH_REQ_XCOMP_PERM
  constexpr long kXfeatureXtiledata = 18;     // XFEATURE_XTILEDATA
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

CpuFeatures detect() {
  CpuFeatures f;
  const uint32_t max_leaf = cpuid(0, 0).eax;
  const CpuidRegs l1 = cpuid(1, 0);
  if (!bit(l1.ecx, 27)) return f;  // no OSXSAVE: the OS manages no AVX state
  const uint64_t xcr = xcr0();
  const bool os_ymm = (xcr & 0x6) == 0x6;              // SSE + AVX state
  const bool os_zmm = os_ymm && (xcr & 0xE0) == 0xE0;  // opmask, ZMM_Hi256, Hi16_ZMM
  const bool os_tiles = (xcr & 0x60000) == 0x60000;    // XTILECFG, XTILEDATA
  if (!os_ymm || !bit(l1.ecx, 28) || max_leaf < 7) return f;
  const CpuidRegs l7 = cpuid(7, 0);
  const CpuidRegs l7s1 = l7.eax >= 1 ? cpuid(7, 1) : CpuidRegs{};
  f.avx2 = bit(l7.ebx, 5);
  f.fma = bit(l1.ecx, 12);
  f.bmi2 = bit(l7.ebx, 8);
  f.avx_vnni = f.avx2 && bit(l7s1.eax, 4);
  if (os_zmm) {
    f.avx512f = bit(l7.ebx, 16);
    f.avx512bw = f.avx512f && bit(l7.ebx, 30);
    f.avx512vl = f.avx512f && bit(l7.ebx, 31);
    f.avx512dq = f.avx512f && bit(l7.ebx, 17);
    f.avx512_vnni = f.avx512f && bit(l7.ecx, 11);
    f.avx512_vbmi = f.avx512f && bit(l7.ecx, 1);
    f.avx512_bf16 = f.avx512f && bit(l7s1.eax, 5);
  }
  if (os_zmm && os_tiles && bit(l7.edx, 24) && request_amx_permission()) {
    f.amx_tile = true;
    f.amx_int8 = bit(l7.edx, 25);
  }
  return f;
}
#elif defined(__linux__) && defined(__aarch64__)
// The kernel's hardware capabilities (arch/arm64 uapi hwcap.h); the bits are
// spelled out so an older libc's headers still build.
CpuFeatures detect() {
  constexpr unsigned long kHwcapAsimd = 1ul << 1;    // HWCAP_ASIMD
  constexpr unsigned long kHwcapAsimddp = 1ul << 20; // HWCAP_ASIMDDP
  constexpr unsigned long kHwcap2I8mm = 1ul << 13;   // HWCAP2_I8MM
  const unsigned long hwcap = getauxval(AT_HWCAP);
  const unsigned long hwcap2 = getauxval(AT_HWCAP2);
  CpuFeatures f;
  f.asimd = (hwcap & kHwcapAsimd) != 0;
  f.asimddp = f.asimd && (hwcap & kHwcapAsimddp) != 0;
  f.i8mm = f.asimd && (hwcap2 & kHwcap2I8mm) != 0;
  return f;
}
#else
CpuFeatures detect() { return CpuFeatures{}; }
#endif

// The levels this build's architecture has kernels for (DYAD_ISA accepts
// only these and "ref").
#if defined(__aarch64__)
constexpr KernelIsa kFirstLevel = KernelIsa::kNeon, kLastLevel = KernelIsa::kI8mm;
constexpr const char* kLevelNames = "neon|dotprod|i8mm|ref";
#else
constexpr KernelIsa kFirstLevel = KernelIsa::kAvx2, kLastLevel = KernelIsa::kAmx;
constexpr const char* kLevelNames = "avx2|avxvnni|avx512vnni|amx|ref";
#endif
bool level_of_this_arch(KernelIsa isa) {
  return isa == KernelIsa::kRef || (static_cast<int>(isa) >= static_cast<int>(kFirstLevel) &&
                                    static_cast<int>(isa) <= static_cast<int>(kLastLevel));
}

struct IsaName {
  KernelIsa isa;
  const char* name;
};
constexpr IsaName kIsaNames[] = {{KernelIsa::kRef, "ref"},
                                 {KernelIsa::kAvx2, "avx2"},
                                 {KernelIsa::kAvxVnni, "avxvnni"},
                                 {KernelIsa::kAvx512Vnni, "avx512vnni"},
                                 {KernelIsa::kAmx, "amx"},
                                 {KernelIsa::kNeon, "neon"},
                                 {KernelIsa::kDotprod, "dotprod"},
                                 {KernelIsa::kI8mm, "i8mm"}};

bool env_is(const char* var, const char* value) {
  const char* v = std::getenv(var);
  return v != nullptr && std::strcmp(v, value) == 0;
}

const CpuFeatures& detected() {
  static const CpuFeatures features = detect();
  return features;
}

}  // namespace

const CpuFeatures& cpu_features() {
  const CpuFeatures& features = detected();
  static std::once_flag logged;
  std::call_once(logged, [] {
    if (verbose_dispatch()) log_line(LogLevel::kDebug, "dyad dispatch: cpu: " + cpu_summary());
  });
  return features;
}

const char* kernel_isa_name(KernelIsa isa) {
  for (const IsaName& n : kIsaNames)
    if (n.isa == isa) return n.name;
  return "?";
}

KernelIsa kernel_isa_cap() {
  const char* v = std::getenv("DYAD_ISA");
  if (v == nullptr || *v == '\0') return KernelIsa::kI8mm;
  for (const IsaName& n : kIsaNames)
    if (std::strcmp(v, n.name) == 0 && level_of_this_arch(n.isa)) return n.isa;
  static std::once_flag warned;
  std::call_once(warned, [v] {
    log_line(LogLevel::kWarning, strfmt("dyad: DYAD_ISA='%s' is not one of %s; ignored", v, kLevelNames));
  });
  return KernelIsa::kI8mm;
}

bool kernel_isa_present(KernelIsa isa) {
  const CpuFeatures& f = cpu_features();
  const bool avx2 = f.avx2 && f.fma && f.bmi2;
  const bool avx512vnni = avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512_vnni;
  switch (isa) {
    case KernelIsa::kRef: return true;
    case KernelIsa::kAvx2: return avx2;
    case KernelIsa::kAvxVnni: return avx2 && f.avx_vnni;
    case KernelIsa::kAvx512Vnni: return avx512vnni;
    case KernelIsa::kAmx: return avx512vnni && f.amx_tile && f.amx_int8;
    case KernelIsa::kNeon: return f.asimd;
    case KernelIsa::kDotprod: return f.asimd && f.asimddp;
    case KernelIsa::kI8mm: return f.asimd && f.asimddp && f.i8mm;
  }
  return false;
}

bool kernel_isa_usable(KernelIsa isa) {
  if (isa != KernelIsa::kRef && force_reference_kernels()) return false;
  return kernel_isa_present(isa) && static_cast<int>(isa) <= static_cast<int>(kernel_isa_cap());
}
// (The cap is a level of this architecture, or kI8mm, the last of all: the
// other architecture's levels are never present, so comparing across them
// does not matter.)

bool avx512_elementwise_present() {
  const CpuFeatures& f = cpu_features();
  return kernel_isa_present(KernelIsa::kAvx2) && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
}

bool avx512_elementwise_usable() {
  return !force_reference_kernels() && avx512_elementwise_present() &&
         static_cast<int>(kernel_isa_cap()) >= static_cast<int>(KernelIsa::kAvx512Vnni);
}

std::string cpu_summary() {
  const CpuFeatures& f = detected();
  const struct {
    bool on;
    const char* name;
  } flags[] = {{f.avx2, "avx2"},           {f.fma, "fma"},
               {f.bmi2, "bmi2"},           {f.avx_vnni, "avx-vnni"},
               {f.avx512f, "avx512f"},     {f.avx512bw, "avx512bw"},
               {f.avx512vl, "avx512vl"},   {f.avx512dq, "avx512dq"},
               {f.avx512_vnni, "avx512-vnni"},
               {f.avx512_bf16, "avx512-bf16"}, {f.avx512_vbmi, "avx512-vbmi"},
               {f.amx_tile, "amx-tile"},   {f.amx_int8, "amx-int8"},
               {f.asimd, "asimd"},         {f.asimddp, "asimddp"},
               {f.i8mm, "i8mm"}};
  std::string out;
  for (const auto& flag : flags) {
    if (!flag.on) continue;
    if (!out.empty()) out += ' ';
    out += flag.name;
  }
  if (out.empty()) out = "(no vector extensions used by dyad)";
  out += " (dispatch cap: ";
  if (force_reference_kernels()) {
    out += env_is("DYAD_KERNELS", "ref") ? "ref, DYAD_KERNELS=ref" : "ref, DYAD_ISA=ref";
  } else if (const char* v = std::getenv("DYAD_ISA"); v != nullptr && *v != '\0') {
    out += std::string(kernel_isa_name(kernel_isa_cap())) + ", DYAD_ISA=" + v;
  } else {
    out += "none";
  }
  out += ')';
  return out;
}

size_t l2_cache_bytes() {
#ifdef _SC_LEVEL2_CACHE_SIZE
  static const size_t bytes = [] {
    const long v = sysconf(_SC_LEVEL2_CACHE_SIZE);
    return v > 0 ? static_cast<size_t>(v) : size_t{0};
  }();
  return bytes;
#else
  return 0;
#endif
}

bool force_reference_kernels() { return env_is("DYAD_KERNELS", "ref") || env_is("DYAD_ISA", "ref"); }

bool verbose_dispatch() {
  const char* v = std::getenv("DYAD_VERBOSE");
  return v != nullptr && std::strstr(v, "dispatch") != nullptr;
}

}  // namespace dyad::kernels
