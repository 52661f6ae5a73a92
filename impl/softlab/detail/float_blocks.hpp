// softlab/detail/float_blocks.hpp: the floating-point building blocks every kernel uses, written
// once: the error-free transformations (two-sum, fast-two-sum, two-product), the writer of the
// contract's special values (NaN row, +inf shares, fully masked row, and their logarithms), and
// the head / main / tail loop of the vector kernels.
//
// The per-ISA translation units (impl/src/kernels_<isa>.cpp) include this header too. There,
// only templates whose arguments carry the xsimd architecture may be instantiated (an xsimd
// batch, or a lambda of a kernel templated on the architecture): the linker merges identical
// inline symbols across objects and could keep an AVX2-encoded copy for the SSE2 path
// (tests/core/check_no_vex.cmake). Nothing here includes xsimd: the vector types reach these
// templates as V, and xsimd's fma by argument-dependent lookup.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

/// Forces a function inline: the vector kernels' loops and building blocks (below, and
/// impl/src/softlab_kernels), where a call costs registers and where an out-of-line copy would
/// be one symbol that the linker shares between the per-ISA objects.
#define SOFTLAB_ALWAYS_INLINE [[gnu::always_inline]] inline

namespace softlab::detail {

// ---- predicates and constants ----

template <class T>
bool is_nan(const T& v) {
  return !(v == v);
}

template <class T>
T infinity() {
  return std::numeric_limits<T>::infinity();
}

template <class T>
T quiet_nan() {
  return std::numeric_limits<T>::quiet_NaN();
}

template <class T>
bool is_finite(const T& v) {
  return !is_nan(v) && v != infinity<T>() && v != -infinity<T>();
}

/// max that absorbs NaN: once a NaN is seen the running maximum stays NaN, so one value tells
/// "some input was NaN" without a second flag.
template <class T>
void update_max_propagating_nan(T& running_max, const T& v) {
  if (v > running_max || is_nan(v)) running_max = v;
}

template <class T>
T max_propagating_nan(std::span<const T> x) {
  T running_max = -infinity<T>();
  for (const T& v : x) {
    update_max_propagating_nan(running_max, v);
    if (is_nan(running_max)) break;
  }
  return running_max;
}

// ---- error-free transformations ----
// V is a floating-point type or an xsimd batch of one; exact under round to nearest as long as
// nothing overflows (Muller et al., Handbook of Floating-Point Arithmetic, 4.3).

/// a op b = value + error exactly, value the rounded result.
template <class V>
struct rounded_and_error {
  V value, error;
};

/// Knuth's two-sum (TAOCP vol. 2, 4.2.2): a + b = value + error for any magnitudes, in six
/// operations. The kernels carry the rounding error of x - m with it (b = -m) and fold sums
/// without drift.
template <class V>
rounded_and_error<V> two_sum(const V& a, const V& b) {
  const V value = a + b;
  const V virtual_b = value - a;
  return {value, (a - (value - virtual_b)) + (b - virtual_b)};
}

/// Dekker's fast-two-sum: a + b = value + error in three operations when |a| >= |b| (or a = 0).
template <class V>
rounded_and_error<V> fast_two_sum(const V& a, const V& b) {
  const V value = a + b;
  return {value, b - (value - a)};
}

/// a b = value + error by one fused multiply-add (exact unless the error underflows). std::fma
/// for scalars, xsimd::fma for batches (found by argument-dependent lookup).
template <class V>
rounded_and_error<V> two_product(const V& a, const V& b) {
  using std::fma;
  const V value = a * b;
  return {value, fma(a, b, -value)};
}

/// a b = value + error without a fused multiply-add (SSE2 lanes): Veltkamp's splitting cuts
/// each factor into halves of at most ceil(p/2) bits, whose four products are exact, and
/// Dekker's product sums them (Dekker 1971; Handbook of Floating-Point Arithmetic, 4.4.2). Exact
/// unless |a| or |b| exceeds 2^(emax - ceil(p/2)) (the split overflows) or the error underflows.
/// splitter = 2^ceil(p/2) + 1: 2^27 + 1 for double.
template <class V>
rounded_and_error<V> two_product_by_splitting(const V& a, const V& b, const V& splitter) {
  auto split = [&](const V& v) {
    const V scaled = splitter * v;
    const V high = scaled - (scaled - v);
    return rounded_and_error<V>{high, v - high};
  };
  const auto sa = split(a), sb = split(b);
  const V value = a * b;
  const V error = ((sa.value * sb.value - value) + sa.value * sb.error + sa.error * sb.value) +
                  sa.error * sb.error;
  return {value, error};
}

/// The sum of two unevaluated pairs a_hi + a_lo and b_hi + b_lo (|a_lo| <= u |a_hi|, the same
/// for b), renormalized (the "sloppy" double-word sum of Joldes, Muller & Popescu 2017). For
/// operands of one sign its relative error is at most 3u^2: the two-sum is exact, a_lo + b_lo
/// and the sum of the low parts each round a term below 2u |sum|, fast-two-sum is exact.
template <class V>
rounded_and_error<V> pair_sum(const V& a_hi, const V& a_lo, const V& b_hi, const V& b_lo) {
  const auto s = two_sum(a_hi, b_hi);
  return fast_two_sum(s.value, s.error + (a_lo + b_lo));
}

/// 1 / (hi + lo) as a pair value + error, to about 2^-102 relative (|lo| <= ulp(hi) / 2): the
/// rounded reciprocal r of hi and one Newton correction r (1 - r (hi + lo)), whose residual 1 -
/// r hi is exact by one fused multiply-add (std::fma: scalar only).
/// Always inlined: the per-ISA kernels call it.
SOFTLAB_ALWAYS_INLINE rounded_and_error<double> reciprocal_pair(double hi, double lo) {
  const double r = 1.0 / hi;
  const double residual = std::fma(-r, hi, 1.0) - r * lo;
  return {r, residual * r};
}

/// Neumaier's compensated sum (Higham, Accuracy and Stability, 4.3): each addition's rounding
/// error, exact by fast-two-sum with the larger operand first, is summed apart: error 2u|sum| +
/// O(n u^2)|sum|, independent of n to first order.
template <class W>
struct compensated_sum {
  W sum = 0, compensation = 0;
  void add(W v) {
    using std::abs;
    const auto s = abs(sum) >= abs(v) ? fast_two_sum(sum, v) : fast_two_sum(v, sum);
    compensation += s.error;
    sum = s.value;
  }
  W total() const { return sum + compensation; }
};

// ---- the contract's special values ----

/// The kind of output an elementwise limit is written for.
enum class output_scale { probability, log_probability };

/// How many of the n values value(i) equal `target`.
template <class W, class Value>
std::size_t count_equal(std::size_t n, Value&& value, const W& target) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) count += value(i) == target ? 1 : 0;
  return count;
}
template <class T>
std::size_t count_equal(std::span<const T> x, const T& target) {
  return count_equal(
      x.size(), [&](std::size_t i) { return x[i]; }, target);
}

/// When the max of a row is not finite the softmax is a limit, written here:
///   NaN anywhere  -> every output NaN;
///   max is +inf   -> the k entries equal to +inf share 1/k, every other entry 0;
///   max is -inf   -> every entry is -inf (fully masked): all zeros ("safe softmax").
/// log_probability writes the logarithms (log 0 = -inf). Returns false when max is finite.
/// The row is value(0), ..., value(n - 1) in a type W (T itself, or the wider type in which
/// accurate forms its scores); 1/k and log k are taken in W and rounded once to T.
/// In place is safe as long as value(i) reads only element i: each is read before y_i is written.
/// logsumexp's limits need no writer: they are the max itself (NaN, +inf, -inf).
template <class T, class W, class Value>
bool write_limit_if_max_not_finite(const W& max, std::size_t n, Value&& value, std::span<T> y,
                                   output_scale scale) {
  using std::log;
  const bool log_scale = scale == output_scale::log_probability;
  if (is_nan(max)) {
    for (T& v : y) v = quiet_nan<T>();
    return true;
  }
  if (max == -infinity<W>()) {
    for (T& v : y) v = log_scale ? -infinity<T>() : T(0);
    return true;
  }
  if (max != infinity<W>()) return false;
  const W infinite_count = W(count_equal(n, value, infinity<W>()));
  const T share = log_scale ? T(-log(infinite_count)) : T(W(1) / infinite_count);
  const T rest = log_scale ? -infinity<T>() : T(0);
  for (std::size_t i = 0; i < n; ++i) y[i] = value(i) == infinity<W>() ? share : rest;
  return true;
}

/// The same for a row held in a span of T.
template <class T>
bool write_limit_if_max_not_finite(const T& max, std::span<const T> x, std::span<T> y,
                                   output_scale scale) {
  return write_limit_if_max_not_finite(
      max, x.size(), [&](std::size_t i) { return x[i]; }, y, scale);
}

/// A finite max so large that max + lowest rounds to max, lowest the most negative argument an
/// exp kernel reaches (the lowest finite T is one; the caller has checked it): the spacing of T
/// below max is then at least -2 lowest, so every x_i < max has exp(x_i - max) = 0 in T. The
/// finite counterpart of the +inf shares: the k entries equal to the max share 1/k, the others
/// get 0; log_probability writes (x_i - max) - log k.
template <class T>
void write_dominant_max(const T& max, std::span<const T> x, std::span<T> y, output_scale scale) {
  using std::log;
  const T at_max = T(count_equal(x, max));
  if (scale == output_scale::log_probability) {
    const T log_k = T(log(at_max));
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = (x[i] - max) - log_k;
  } else {
    const T share = T(1) / at_max;
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = x[i] == max ? share : T(0);
  }
}

// ---- the loop of the vector kernels ----

// The loops below are always inlined into their kernel. Compiled as functions of their own,
// they reach the kernel's state (the row pointers, the pivot, the reciprocal, the running sum)
// through the lambdas' captured references, and every vector store (xsimd's and the streaming
// intrinsics store through __m256, a may-alias type) forces those to be reloaded: fast's pass
// 2 reloaded ~25 pointers per group of four vectors and pass 1 kept its sum in memory, a
// store-to-load chain of ~10 cycles per group (bench: softlab-bench --passes, 2.4 cycles per
// vector for a multiply-and-sum loop in L2).

/// A vector kernel's walk over a row of n elements: from `begin`, blocks of Group elements
/// (several independent vectors in flight, to hide latency), then single vectors of Width,
/// then the rest, fewer than Width elements, which the kernel pads to a vector (-inf for an
/// exp, 0 otherwise). block(i) and vector(i) get the index of their first element, rest(i,
/// count) also the count. With Group == Width there is no separate vector step.
template <std::size_t Width, std::size_t Group, class Block, class Vector, class Rest>
SOFTLAB_ALWAYS_INLINE void for_each_block(std::size_t begin, std::size_t n, Block&& block,
                                          Vector&& vector, Rest&& rest) {
  static_assert(Group % Width == 0);
  std::size_t i = begin;
  for (; i + Group <= n; i += Group) block(i);
  if constexpr (Group != Width)
    for (; i + Width <= n; i += Width) vector(i);
  if (i < n) rest(i, n - i);
}

/// One vector at a time: step(i) on every full vector, rest(i, count) on the remainder.
template <std::size_t Width, class Step, class Rest>
SOFTLAB_ALWAYS_INLINE void for_each_vector(std::size_t n, Step&& step, Rest&& rest) {
  for_each_block<Width, Width>(0, n, step, step, rest);
}

/// As for_each_block, for a pass whose stores may bypass the cache (non-temporal stores need
/// an address aligned to the vector of VectorBytes). With `stream`, the elements before the
/// first aligned address of y (the head) go to rest(0, head) and every block and vector after
/// it is aligned: they get aligned = true and may stream. Without `stream`, or when y is not
/// aligned to its element size or the head would take the whole row, every step gets aligned
/// = false. block(i, aligned), vector(i, aligned), rest(i, count).
template <std::size_t Width, std::size_t Group, std::size_t VectorBytes, class T, class Block,
          class Vector, class Rest>
SOFTLAB_ALWAYS_INLINE void for_each_block_aligned_to(const T* y, std::size_t n, bool stream,
                                                     Block&& block, Vector&& vector, Rest&& rest) {
  std::size_t head = 0;
  if (stream) {
    const std::size_t misaligned = reinterpret_cast<std::uintptr_t>(y) % VectorBytes;
    head = misaligned == 0 ? 0 : (VectorBytes - misaligned) / sizeof(T);
    stream = misaligned % sizeof(T) == 0 && head < n;
  }
  if (!stream) head = 0;
  if (head > 0) rest(std::size_t(0), head);
  for_each_block<Width, Group>(
      head, n, [&](std::size_t i) { block(i, stream); }, [&](std::size_t i) { vector(i, stream); },
      rest);
}

}  // namespace softlab::detail
