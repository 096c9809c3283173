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

// dyad's fast kernels are AVX2; the peer they are measured against is oneDNN
// restricted to the same instruction set, so a machine that happens to have
// AVX-512, VNNI or AMX compares like with like. DYAD_BENCH_ONEDNN_ISA=native
// lifts the cap (to see what oneDNN reaches with everything the CPU has).
// Must run before oneDNN generates any code; every oneDNN benchmark calls it
// first, and only the first call does anything.
inline void limit_onednn_isa_once() {
  static const bool done = [] {
    const char* env = std::getenv("DYAD_BENCH_ONEDNN_ISA");
    if (env && std::strcmp(env, "native") == 0) return true;
    if (dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx2) != dnnl::status::success) {
      std::fprintf(stderr, "dyad_bench: could not limit oneDNN to AVX2\n");
    }
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
