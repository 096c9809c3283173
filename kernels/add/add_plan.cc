// Plan-time constants of the vector adds (portable code: it runs before the
// CPU's features decide which kernel the step uses), and their scalar tails.
#include <algorithm>
#include <numeric>

#include "kernels/add/add.h"

namespace dyad::kernels {

namespace {

int64_t container_min(IntType t) {
  switch (t) {
    case IntType::kS8: return INT8_MIN;
    case IntType::kU8: return 0;
    case IntType::kS16: return INT16_MIN;
    case IntType::kS32: return INT32_MIN;
    case IntType::kS64: break;
  }
  return INT64_MIN;
}

int64_t container_max(IntType t) {
  switch (t) {
    case IntType::kS8: return INT8_MAX;
    case IntType::kU8: return UINT8_MAX;
    case IntType::kS16: return INT16_MAX;
    case IntType::kS32: return INT32_MAX;
    case IntType::kS64: break;
  }
  return INT64_MAX;
}

// One branch's (m, e) as (m, ls, rs) with the same exact value
// x * m * 2^ls / 2^rs and rs in [1, 63]. False if |t| could exceed 2^62.
bool branch_lane(int64_t max_d, Dyadic d, AddBlock8::Branch& b, int half, int lane,
                 std::string* why) {
  int64_t m = d.m, ls = 0, rs = d.e;
  if (m == 0) {
    rs = 1;
  } else if (d.e >= 63) {
    // |t| <= 2^62 (|d| <= 2^31, |m| <= 2^31): rne(t / 2^e) is 0 for every
    // e >= 63 (the one tie, |t| = 2^62 at e = 63, rounds to the even 0).
    rs = 63;
  } else if (d.e <= 0) {
    // x * m * 2^-e = ((x * m) << (1 - e)) / 2: an even t, no rounding.
    ls = 1 - int64_t{d.e};
    rs = 1;
    const int128_t bound = static_cast<int128_t>(max_d) * (m < 0 ? -m : m);
    if (ls > 62 || bound > (static_cast<int128_t>(1) << (62 - ls))) {
      *why = "a left shift of " + std::to_string(-d.e) + " could take a product past 2^62";
      return false;
    }
  }
  b.mult[half][lane] = m;
  b.lshift[half][lane] = ls;
  b.rshift[half][lane] = rs;
  b.round[half][lane] =
      static_cast<int64_t>((uint64_t{1} << (rs - 1)) - 1 + (uint64_t{1} << 63));
  return true;
}

}  // namespace

bool add_vec_plan(const AddParams& p, const Dyadic* a_requant, const Dyadic* b_requant, AddVecPlan* plan,
                  std::string* why) {
  if (p.a_type == IntType::kS64 || p.b_type == IntType::kS64 || p.dst_type == IntType::kS64) {
    *why = "int64 tensors";
    return false;
  }
  if (p.channels == 0 || p.count % p.channels != 0) {
    *why = "count is not a multiple of channels";
    return false;
  }
  // x - z must fit int32 for every value of the container.
  auto fits = [](IntType t, int64_t z) {
    return container_min(t) - z >= INT32_MIN && container_max(t) - z <= INT32_MAX;
  };
  if (!fits(p.a_type, p.a_zero_point) || !fits(p.b_type, p.b_zero_point)) {
    *why = "an input minus its zero point may not fit int32";
    return false;
  }
  if (p.dst_min < container_min(p.dst_type) || p.dst_max > container_max(p.dst_type) ||
      p.dst_zero_point < INT32_MIN || p.dst_zero_point > INT32_MAX) {
    *why = "the clamp or zero point lies outside the dst container";
    return false;
  }
  const int64_t max_a = std::max(p.a_zero_point - container_min(p.a_type),
                                 container_max(p.a_type) - p.a_zero_point);
  const int64_t max_b = std::max(p.b_zero_point - container_min(p.b_type),
                                 container_max(p.b_type) - p.b_zero_point);
  plan->params = p;
  plan->period = std::lcm(p.channels, size_t{8});
  plan->blocks.assign(plan->period / 8, AddBlock8{});
  for (size_t i = 0; i < plan->period; ++i) {
    const size_t c = i % p.channels;
    AddBlock8& blk = plan->blocks[i / 8];
    const int half = static_cast<int>(i % 2), lane = static_cast<int>(i % 8 / 2);
    if (!branch_lane(max_a, a_requant[c], blk.a, half, lane, why) ||
        !branch_lane(max_b, b_requant[c], blk.b, half, lane, why))
      return false;
    // The logical shifts add 2^(63 - rs) per branch; the offset removes them.
    blk.offset[half][lane] = static_cast<int64_t>(
        static_cast<uint64_t>(p.dst_zero_point) - (uint64_t{1} << (63 - blk.a.rshift[half][lane])) -
        (uint64_t{1} << (63 - blk.b.rshift[half][lane])));
  }
  plan->narrow = false;
  plan_narrow(p, a_requant, b_requant, plan);
  plan->a_requant.assign(a_requant, a_requant + p.channels);
  plan->b_requant.assign(b_requant, b_requant + p.channels);
  return true;
}

void add_scalar_range(const AddVecPlan& plan, const void* a, const void* b, void* dst, size_t begin,
                      size_t end) {
  const AddParams& p = plan.params;
  size_t c = begin % p.channels;
  for (size_t i = begin; i < end; ++i) {
    int64_t xa, xb;
    load_ints(a, p.a_type, i, 1, &xa);
    load_ints(b, p.b_type, i, 1, &xb);
    const int64_t y = add_value(p, xa, xb, plan.a_requant[c], plan.b_requant[c]);
    store_ints(&y, 1, p.dst_type, dst, i);
    if (++c == p.channels) c = 0;
  }
}

}  // namespace dyad::kernels
