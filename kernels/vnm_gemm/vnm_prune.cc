#include "kernels/vnm_gemm/vnm_prune.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <vector>

namespace dyad::kernels {

namespace {

// The sorted 4-subsets of [0, m) in lexicographic order.
std::vector<std::array<int32_t, 4>> column_subsets(int32_t m) {
  std::vector<std::array<int32_t, 4>> out;
  for (int32_t a = 0; a < m; ++a)
    for (int32_t b = a + 1; b < m; ++b)
      for (int32_t c = b + 1; c < m; ++c)
        for (int32_t d = c + 1; d < m; ++d) out.push_back({a, b, c, d});
  return out;
}

int32_t top2_sum(int32_t a, int32_t b, int32_t c, int32_t d) {
  // The two largest of four: sort the pairs, then merge.
  const int32_t hi1 = std::max(a, b), lo1 = std::min(a, b);
  const int32_t hi2 = std::max(c, d), lo2 = std::min(c, d);
  return hi1 >= hi2 ? hi1 + std::max(lo1, hi2) : hi2 + std::max(lo2, hi1);
}

}  // namespace

std::string vnm_prune_magnitude(const VnmShape& shape, const int8_t* dense, int8_t* pruned,
                                VnmPruneMethod method) {
  VnmLayout lay;
  if (std::string err = vnm_layout(shape, &lay); !err.empty()) return err;
  const int64_t n = shape.n, k = shape.k, v = shape.v, m = shape.m;
  const std::vector<std::array<int32_t, 4>> subsets =
      method == VnmPruneMethod::kExact ? column_subsets(shape.m) : std::vector<std::array<int32_t, 4>>{};
  // |w| of one block (V x M), zero outside the matrix (padding).
  std::vector<int32_t> s(static_cast<size_t>(v * m));
  std::vector<int8_t> row_keep(static_cast<size_t>(m));
  for (int64_t r0 = 0; r0 < lay.n_pad; r0 += v) {
    for (int64_t c0 = 0; c0 < lay.k_pad; c0 += m) {
      for (int64_t r = 0; r < v; ++r)
        for (int64_t c = 0; c < m; ++c) {
          const bool inside = r0 + r < n && c0 + c < k;
          s[r * m + c] = inside ? std::abs(static_cast<int32_t>(dense[(r0 + r) * k + c0 + c])) : 0;
        }
      std::array<int32_t, 4> kept{0, 1, 2, 3};
      if (method == VnmPruneMethod::kExact) {
        int64_t best = -1;
        for (const auto& q : subsets) {
          int64_t score = 0;
          for (int64_t r = 0; r < v; ++r) {
            const int32_t* sr = &s[r * m];
            score += top2_sum(sr[q[0]], sr[q[1]], sr[q[2]], sr[q[3]]);
          }
          if (score > best) {  // strict: ties keep the first subset
            best = score;
            kept = q;
          }
        }
      } else {
        std::vector<int64_t> col(static_cast<size_t>(m), 0);
        for (int64_t r = 0; r < v; ++r)
          for (int64_t c = 0; c < m; ++c) col[c] += s[r * m + c];
        std::vector<int32_t> order(static_cast<size_t>(m));
        for (int32_t c = 0; c < m; ++c) order[c] = c;
        std::stable_sort(order.begin(), order.end(),
                         [&](int32_t a, int32_t b) { return col[a] > col[b]; });
        std::copy(order.begin(), order.begin() + 4, kept.begin());
        std::sort(kept.begin(), kept.end());
      }
      for (int64_t r = 0; r < v && r0 + r < n; ++r) {
        // The row's two largest among the kept columns; ties: the lower column.
        const int32_t* sr = &s[r * m];
        int first = 0;
        for (int j = 1; j < 4; ++j)
          if (sr[kept[j]] > sr[kept[first]]) first = j;
        int second = first == 0 ? 1 : 0;
        for (int j = 0; j < 4; ++j)
          if (j != first && sr[kept[j]] > sr[kept[second]]) second = j;
        std::fill(row_keep.begin(), row_keep.end(), 0);
        row_keep[kept[first]] = row_keep[kept[second]] = 1;
        for (int64_t c = 0; c < m && c0 + c < k; ++c) {
          const int64_t i = (r0 + r) * k + c0 + c;
          pruned[i] = row_keep[c] ? dense[i] : 0;
        }
      }
    }
  }
  return "";
}

}  // namespace dyad::kernels
