// oneDNN settings shared by every benchmark that measures it next to dyad.
#pragma once

#include <dlfcn.h>

#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>

namespace dyad::bench {

// oneDNN runs at its native ISA by default (AVX-512 VNNI, AMX... whatever the
// CPU has: the peer dyad's VNNI kernels are measured against; its
// implementation name is in each label). DYAD_BENCH_ONEDNN_ISA caps it for
// the other columns: avx2 (the peer of dyad's AVX2 kernels), avx2_vnni,
// avx512_core_vnni (VNNI without AMX); native (or unset) lifts the cap. Must
// run before oneDNN generates any code (oneDNN reads the cap once): every
// oneDNN benchmark calls it first, and only the first call does anything.
inline void limit_onednn_isa_once() {
  static const bool done = [] {
    const char* env = std::getenv("DYAD_BENCH_ONEDNN_ISA");
    if (env == nullptr || *env == '\0' || std::strcmp(env, "native") == 0) return true;
    const struct {
      const char* name;
      dnnl::cpu_isa isa;
    } caps[] = {{"avx2", dnnl::cpu_isa::avx2},
                {"avx2_vnni", dnnl::cpu_isa::avx2_vnni},
                {"avx512_core_vnni", dnnl::cpu_isa::avx512_core_vnni}};
    for (const auto& cap : caps) {
      if (std::strcmp(env, cap.name) != 0) continue;
      if (dnnl::set_max_cpu_isa(cap.isa) != dnnl::status::success)
        std::fprintf(stderr, "dyad_bench: could not limit oneDNN to %s\n", cap.name);
      return true;
    }
    std::fprintf(stderr, "dyad_bench: DYAD_BENCH_ONEDNN_ISA=%s is not native, avx2, avx2_vnni or "
                         "avx512_core_vnni; oneDNN runs at its native ISA\n", env);
    return true;
  }();
  (void)done;
}

// Sets oneDNN's OpenMP thread count (Debian's libdnnl links libgomp; the
// functions are found in the already loaded library); returns the previous
// count, to be restored so other benchmarks in the binary keep theirs.
inline int set_onednn_threads(int n) {
  using SetFn = void (*)(int);
  using GetFn = int (*)();
  static const SetFn set = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  static const GetFn get = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  const int previous = get ? get() : n;
  if (set) set(n);
  return previous;
}

// Times a oneDNN primitive: one untimed run (JIT, first touch), then one run
// per benchmark iteration; the label says which implementation oneDNN chose.
inline void time_primitive(benchmark::State& state, const dnnl::primitive& prim,
                           const std::unordered_map<int, dnnl::memory>& args, dnnl::stream& strm,
                           const std::string& impl_info) {
  prim.execute(strm, args);
  strm.wait();
  for (auto _ : state) {
    prim.execute(strm, args);
    strm.wait();
  }
  state.SetLabel(impl_info);
}

}  // namespace dyad::bench
