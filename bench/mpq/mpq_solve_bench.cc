// The bit-allocation solver (engine/mpq/, docs/mpq.md): HAWQ's ResNet-18
// tables under one constraint (target < 10 ms), and a ResNet-50-shaped
// 52-layer problem (exact v1 conv shapes; seeded synthetic sensitivities and
// latencies) under all three constraints (target < 1 s).
#include <benchmark/benchmark.h>

#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "engine/mpq/problem.h"
#include "engine/mpq/solve.h"

namespace dyad::mpq {
namespace {

Problem resnet18() {
  std::ifstream f(std::string(DYAD_SOURCE_DIR) + "/tests/data/mpq/hawq_resnet18.json");
  std::stringstream s;
  s << f.rdbuf();
  return parse_candidates(s.str());
}

// ResNet-50 v1 at 224x224 (stride on the 1x1 conv1), the 52 convs after the
// stem, in HAWQ's order: per block conv1, conv2, conv3, then the downsample.
Problem resnet50_like() {
  Problem p;
  p.has_dim = {true, true, true};
  std::mt19937_64 rng(52);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  auto add = [&](const std::string& name, uint64_t cin, uint64_t cout, uint64_t k, uint64_t hout) {
    const uint64_t params = cin * cout * k * k, macs = params * hout * hout;
    const double trace = std::pow(10.0, -4 + 3 * unit(rng)) / static_cast<double>(params);
    const double dw8 = static_cast<double>(params) * 1e-6 * (0.5 + unit(rng));
    const uint64_t lat4 = macs / 1000 * 6 / 10 + static_cast<uint64_t>(unit(rng) * 1000);
    const uint64_t lat8 = lat4 * static_cast<uint64_t>(130 + 70 * unit(rng)) / 100;
    Layer l;
    l.name = name;
    for (int b : {4, 8}) {
      Candidate c;
      c.id = b == 4 ? "w4a4" : "w8a8";
      c.w_bits = c.a_bits = b;
      c.sensitivity = trace * (b == 8 ? dw8 : dw8 * (300 + 30 * unit(rng)));
      c.cost = {params * static_cast<uint64_t>(b) / 8, macs * static_cast<uint64_t>(b * b),
                b == 4 ? lat4 : lat8};
      l.candidates.push_back(c);
    }
    p.layers.push_back(l);
  };
  const int blocks[] = {3, 4, 6, 3};
  uint64_t cin = 64, h = 56;
  for (int s = 0; s < 4; ++s) {
    const uint64_t mid = uint64_t{64} << s, out = mid * 4;
    for (int u = 0; u < blocks[s]; ++u) {
      const uint64_t hout = (u == 0 && s > 0) ? h / 2 : h;
      const std::string unit_name = "stage" + std::to_string(s + 1) + ".unit" + std::to_string(u + 1);
      add(unit_name + ".conv1", cin, mid, 1, hout);
      add(unit_name + ".conv2", mid, mid, 3, hout);
      add(unit_name + ".conv3", mid, out, 1, hout);
      if (u == 0) {
        add(unit_name + ".downsample", cin, out, 1, hout);
        Tie t;
        t.attr = TieAttr::kABits;
        t.layers = {static_cast<int>(p.layers.size()) - 4, static_cast<int>(p.layers.size()) - 1};
        p.ties.push_back(t);
      }
      cin = out;
      h = hout;
    }
  }
  return p;
}

void BM_MpqResnet18Single(benchmark::State& state) {
  const Problem p = resnet18();
  SolveOptions o;
  o.constraints.frac[state.range(0)] = 0.5;
  size_t states = 0;
  for (auto _ : state) {
    const SolveResult r = solve(p, o);
    states = r.max_states;
    benchmark::DoNotOptimize(r.best.objective);
  }
  state.counters["max_states"] = static_cast<double>(states);
  state.SetLabel(dim_name(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_MpqResnet18Single)->Arg(kSize)->Arg(kBops)->Arg(kLatency)->Unit(benchmark::kMillisecond);

void BM_MpqResnet50Like(benchmark::State& state) {
  const Problem p = resnet50_like();
  SolveOptions o;
  const int dims = static_cast<int>(state.range(0));
  for (int d = 0; d < dims; ++d) o.constraints.frac[d] = 0.5;
  size_t states = 0;
  for (auto _ : state) {
    const SolveResult r = solve(p, o);
    states = r.max_states;
    benchmark::DoNotOptimize(r.best.objective);
  }
  state.counters["max_states"] = static_cast<double>(states);
  state.counters["layers"] = static_cast<double>(p.layers.size());
  state.SetLabel(std::to_string(dims) + " constraint(s)");
}
BENCHMARK(BM_MpqResnet50Like)->Arg(1)->Arg(2)->Arg(3)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace dyad::mpq
