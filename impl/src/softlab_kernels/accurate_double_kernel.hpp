// src/softlab_kernels/accurate_double_kernel.hpp: the vectorized passes of softlab::accurate for
// double: exp(x - m) as an unevaluated pair of doubles (about 2^-75 relative), the sum of the
// pairs without loss, and the weights with one rounding. Templates on the xsimd architecture,
// composed by the ISA-neutral dispatcher (impl/src/accurate.cpp). Included only by the per-ISA
// translation units (see src/softlab_kernels/lanes.hpp).
//
// exp as a pair (Tang's table-driven method, ACM TOMS 15(2), 1989, carried in pairs):
//   d_hi + d_lo = x - m exactly (Knuth's two-sum); d_hi below lowest_argument (and -inf) is
//     clamped there, with d_lo = 0: its weight is 0 after the final rounding;
//   k = round(128 d_hi / ln 2) by the 1.5 * 2^52 trick, k = 128 q + j, 0 <= j < 128;
//   r = d - k ln(2)/128 = s + t: ln(2)/128 = c1 + c2 + c3 with c1, c2 of 35 bits, so k c1 and
//     k c2 are exact (|k| < 2^18); d_hi - k c1 is exact (Sterbenz), its sum with -k c2 is split
//     by two-sum into s + e, and t = (e + d_lo) - k c3, |s| <= ln(2)/256 + 2^-60, |t| < 2^-43;
//   exp(r) = exp(s) (1 + t) + O(t^2 = 2^-86): 1 + s + s^2/2 exactly as a pair (fast-two-sums and
//     an exact square), s^3 (1/6 + s/24 + ... + s^4/5040) in double (below 2^-27.9, so its
//     rounding errors are below 2^-79; the Taylor truncation after s^7 is 2^-83.5);
//   times 2^(j/128) as a pair (table_hi + table_lo, within 2^-107) by an exact product, and by
//     2^(q + headroom) in the exponent bits, exactly.
// The constants and the table come from scripts/dev/exp_table.py (mpmath, 80 digits). The
// result is 2^headroom exp(d), a normal number down to d = lowest_argument, so that gradual
// underflow happens once, in the final rounding of the weight. tests/core/accurate_exp_tests.cpp
// measures its relative error against MPFR.
#pragma once

#include <softlab/detail/float_blocks.hpp>
#include <softlab_kernels/lanes.hpp>

#include <xsimd/xsimd.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

namespace softlab::simd {

/// The constants of the pair exp (scripts/dev/exp_table.py prints every one of them).
struct exp_pair_constants {
  static constexpr int headroom = 512;
  /// 2^512 e^-760 = 2^-584.4 is still normal, and e^-760 < 2^-1096 rounds to 0 in any weight.
  static constexpr double lowest_argument = -760;
  static constexpr double inverse_step = 0x1.71547652b82fep+7;  // 128 / ln 2
  static constexpr double rounding_shift = 0x1.8p+52;           // 1.5 * 2^52
  // ln(2)/128 = step_1 + step_2 + step_3 to 2^-137; step_1 and step_2 have 35 significant bits.
  static constexpr double step_1 = 0x1.62e42fefc0000p-8;
  static constexpr double step_2 = -0x1.c610ca86c0000p-44;
  static constexpr double step_3 = -0x1.c4c67fc0d0951p-83;
  // 1/3!, ..., 1/7!: Taylor, not minimax (the terms they weigh are below 2^-27.9).
  static constexpr double taylor_3 = 0x1.5555555555555p-3, taylor_4 = 0x1.5555555555555p-5,
                          taylor_5 = 0x1.1111111111111p-7, taylor_6 = 0x1.6c16c16c16c17p-10,
                          taylor_7 = 0x1.a01a01a01a01ap-13;
  /// 2^(j/128) = table_hi[j] + table_lo[j] to 2^-107 relative.
  alignas(64) static constexpr double table_hi[128] = {
      0x1.0000000000000p+0, 0x1.0163da9fb3335p+0, 0x1.02c9a3e778061p+0, 0x1.04315e86e7f85p+0,
      0x1.059b0d3158574p+0, 0x1.0706b29ddf6dep+0, 0x1.0874518759bc8p+0, 0x1.09e3ecac6f383p+0,
      0x1.0b5586cf9890fp+0, 0x1.0cc922b7247f7p+0, 0x1.0e3ec32d3d1a2p+0, 0x1.0fb66affed31bp+0,
      0x1.11301d0125b51p+0, 0x1.12abdc06c31ccp+0, 0x1.1429aaea92de0p+0, 0x1.15a98c8a58e51p+0,
      0x1.172b83c7d517bp+0, 0x1.18af9388c8deap+0, 0x1.1a35beb6fcb75p+0, 0x1.1bbe084045cd4p+0,
      0x1.1d4873168b9aap+0, 0x1.1ed5022fcd91dp+0, 0x1.2063b88628cd6p+0, 0x1.21f49917ddc96p+0,
      0x1.2387a6e756238p+0, 0x1.251ce4fb2a63fp+0, 0x1.26b4565e27cddp+0, 0x1.284dfe1f56381p+0,
      0x1.29e9df51fdee1p+0, 0x1.2b87fd0dad990p+0, 0x1.2d285a6e4030bp+0, 0x1.2ecafa93e2f56p+0,
      0x1.306fe0a31b715p+0, 0x1.32170fc4cd831p+0, 0x1.33c08b26416ffp+0, 0x1.356c55f929ff1p+0,
      0x1.371a7373aa9cbp+0, 0x1.38cae6d05d866p+0, 0x1.3a7db34e59ff7p+0, 0x1.3c32dc313a8e5p+0,
      0x1.3dea64c123422p+0, 0x1.3fa4504ac801cp+0, 0x1.4160a21f72e2ap+0, 0x1.431f5d950a897p+0,
      0x1.44e086061892dp+0, 0x1.46a41ed1d0057p+0, 0x1.486a2b5c13cd0p+0, 0x1.4a32af0d7d3dep+0,
      0x1.4bfdad5362a27p+0, 0x1.4dcb299fddd0dp+0, 0x1.4f9b2769d2ca7p+0, 0x1.516daa2cf6642p+0,
      0x1.5342b569d4f82p+0, 0x1.551a4ca5d920fp+0, 0x1.56f4736b527dap+0, 0x1.58d12d497c7fdp+0,
      0x1.5ab07dd485429p+0, 0x1.5c9268a5946b7p+0, 0x1.5e76f15ad2148p+0, 0x1.605e1b976dc09p+0,
      0x1.6247eb03a5585p+0, 0x1.6434634ccc320p+0, 0x1.6623882552225p+0, 0x1.68155d44ca973p+0,
      0x1.6a09e667f3bcdp+0, 0x1.6c012750bdabfp+0, 0x1.6dfb23c651a2fp+0, 0x1.6ff7df9519484p+0,
      0x1.71f75e8ec5f74p+0, 0x1.73f9a48a58174p+0, 0x1.75feb564267c9p+0, 0x1.780694fde5d3fp+0,
      0x1.7a11473eb0187p+0, 0x1.7c1ed0130c132p+0, 0x1.7e2f336cf4e62p+0, 0x1.80427543e1a12p+0,
      0x1.82589994cce13p+0, 0x1.8471a4623c7adp+0, 0x1.868d99b4492edp+0, 0x1.88ac7d98a6699p+0,
      0x1.8ace5422aa0dbp+0, 0x1.8cf3216b5448cp+0, 0x1.8f1ae99157736p+0, 0x1.9145b0b91ffc6p+0,
      0x1.93737b0cdc5e5p+0, 0x1.95a44cbc8520fp+0, 0x1.97d829fde4e50p+0, 0x1.9a0f170ca07bap+0,
      0x1.9c49182a3f090p+0, 0x1.9e86319e32323p+0, 0x1.a0c667b5de565p+0, 0x1.a309bec4a2d33p+0,
      0x1.a5503b23e255dp+0, 0x1.a799e1330b358p+0, 0x1.a9e6b5579fdbfp+0, 0x1.ac36bbfd3f37ap+0,
      0x1.ae89f995ad3adp+0, 0x1.b0e07298db666p+0, 0x1.b33a2b84f15fbp+0, 0x1.b59728de5593ap+0,
      0x1.b7f76f2fb5e47p+0, 0x1.ba5b030a1064ap+0, 0x1.bcc1e904bc1d2p+0, 0x1.bf2c25bd71e09p+0,
      0x1.c199bdd85529cp+0, 0x1.c40ab5fffd07ap+0, 0x1.c67f12e57d14bp+0, 0x1.c8f6d9406e7b5p+0,
      0x1.cb720dcef9069p+0, 0x1.cdf0b555dc3fap+0, 0x1.d072d4a07897cp+0, 0x1.d2f87080d89f2p+0,
      0x1.d5818dcfba487p+0, 0x1.d80e316c98398p+0, 0x1.da9e603db3285p+0, 0x1.dd321f301b460p+0,
      0x1.dfc97337b9b5fp+0, 0x1.e264614f5a129p+0, 0x1.e502ee78b3ff6p+0, 0x1.e7a51fbc74c83p+0,
      0x1.ea4afa2a490dap+0, 0x1.ecf482d8e67f1p+0, 0x1.efa1bee615a27p+0, 0x1.f252b376bba97p+0,
      0x1.f50765b6e4540p+0, 0x1.f7bfdad9cbe14p+0, 0x1.fa7c1819e90d8p+0, 0x1.fd3c22b8f71f1p+0,
  };
  alignas(64) static constexpr double table_lo[128] = {
      0x0.0p+0,
      0x1.b61299ab8cdb7p-54,
      -0x1.19083535b085dp-56,
      -0x1.0a31c1977c96ep-54,
      0x1.d73e2a475b465p-55,
      -0x1.c91dfe2b13c27p-55,
      0x1.186be4bb284ffp-57,
      0x1.1487818316136p-54,
      0x1.8a62e4adc610bp-54,
      0x1.01edc16e24f71p-54,
      0x1.03a1727c57b53p-59,
      -0x1.b9bedc44ebd7bp-57,
      -0x1.6c51039449b3ap-54,
      -0x1.1b514b36ca5c7p-58,
      -0x1.32fbf9af1369ep-54,
      0x1.2406ab9eeab0ap-55,
      -0x1.19041b9d78a76p-55,
      -0x1.11023d1970f6cp-54,
      0x1.e5b4c7b4968e4p-55,
      -0x1.95386352ef607p-54,
      0x1.e016e00a2643cp-54,
      -0x1.1df98027bb78cp-54,
      0x1.dc775814a8495p-55,
      0x1.2a97e9494a5eep-55,
      0x1.9b07eb6c70573p-54,
      0x1.ac155bef4f4a4p-55,
      0x1.2bd339940e9d9p-55,
      -0x1.a4c3a8c3f0d7ep-54,
      0x1.612e8afad1255p-55,
      -0x1.10adcd6381aa4p-59,
      0x1.0024754db41d5p-54,
      0x1.1ca0f45d52383p-56,
      0x1.6f46ad23182e4p-55,
      0x1.a9ce78e18047cp-55,
      0x1.32721843659a6p-54,
      -0x1.b5cee5c4e4628p-55,
      -0x1.63aeabf42eae2p-54,
      -0x1.e958d3c9904bdp-54,
      -0x1.5e436d661f5e3p-56,
      -0x1.efff8375d29c3p-54,
      0x1.ada0911f09ebcp-55,
      -0x1.7d023f956f9f3p-54,
      -0x1.ef3691c309278p-58,
      -0x1.1c7dde35f7999p-55,
      0x1.89b7a04ef80d0p-59,
      0x1.c944bd1648a76p-54,
      0x1.3c1a3b69062f0p-56,
      0x1.9cb62f3d1be56p-54,
      0x1.d4397afec42e2p-56,
      0x1.8ecdbbc6a7833p-54,
      -0x1.4b309d25957e3p-54,
      -0x1.f768569bd93efp-55,
      -0x1.07abe1db13cadp-55,
      -0x1.d689cefede59bp-55,
      0x1.9bb2c011d93adp-54,
      0x1.295e15b9a1de8p-55,
      0x1.6324c054647adp-54,
      0x1.c4b1b816986a2p-60,
      0x1.ba6f93080e65ep-54,
      -0x1.3e2429b56de47p-54,
      -0x1.383c17e40b497p-54,
      -0x1.c483c759d8933p-55,
      -0x1.bb60987591c34p-54,
      0x1.038ae44f73e65p-57,
      -0x1.bdd3413b26456p-54,
      -0x1.2895667ff0b0dp-56,
      -0x1.bbe3a683c88abp-57,
      -0x1.83c0f25860ef6p-55,
      -0x1.16e4786887a99p-55,
      -0x1.0a8d96c65d53cp-54,
      -0x1.0245957316dd3p-54,
      0x1.866b80a02162dp-54,
      -0x1.41577ee04992fp-55,
      0x1.f124cd1164dd6p-54,
      0x1.05d02ba15797ep-56,
      -0x1.27c86626d972bp-54,
      -0x1.d4c1dd41532d8p-54,
      -0x1.8d684a341cdfbp-55,
      -0x1.fc6f89bd4f6bap-54,
      0x1.994c2f37cb53ap-54,
      0x1.6e9f156864b27p-54,
      -0x1.0d55e32e9e3aap-56,
      0x1.5cc13a2e3976cp-55,
      -0x1.dd6792e582524p-54,
      -0x1.75fc781b57ebcp-57,
      -0x1.64b7c96a5f039p-56,
      -0x1.d185b7c1b85d1p-54,
      -0x1.173bd91cee632p-54,
      0x1.c7c46b071f2bep-56,
      0x1.824ca78e64c6ep-56,
      -0x1.359495d1cd533p-54,
      0x1.6305c7ddc36abp-54,
      -0x1.d2f6edb8d41e1p-54,
      0x1.bcb7ecac563c7p-54,
      0x1.0fac90ef7fd31p-54,
      -0x1.f9234cae76cd0p-55,
      0x1.7a1cd345dcc81p-54,
      -0x1.bdef54c80e425p-54,
      -0x1.2805e3084d708p-57,
      -0x1.c71dfbbba6de3p-54,
      -0x1.5584f7e54ac3bp-56,
      -0x1.efcd30e54292ep-54,
      0x1.23dd07a2d9e84p-55,
      -0x1.efdca3f6b9c73p-54,
      0x1.11065895048ddp-55,
      0x1.b4537e083c60ap-54,
      0x1.2884dff483cadp-54,
      0x1.1acbc48805c44p-56,
      0x1.503cbd1e949dbp-56,
      -0x1.dd83b53829d72p-55,
      -0x1.cbc3743797a9cp-54,
      -0x1.d487b719d8578p-54,
      0x1.2ed02d75b3707p-55,
      -0x1.11ec18beddfe8p-54,
      0x1.c2300696db532p-54,
      0x1.2da5778f018c3p-54,
      -0x1.1a5cd4f184b5cp-54,
      -0x1.7b627817a1496p-54,
      0x1.39e8980a9cc8fp-55,
      0x1.2d522ca0c8de2p-54,
      -0x1.e9c23179c2893p-54,
      -0x1.c93f3b411ad8cp-54,
      0x1.dc7f486a4b6b0p-54,
      0x1.3a1a5bf0d8e43p-54,
      0x1.9d3e12dd8a18bp-54,
      -0x1.dbb12d006350ap-54,
      0x1.74853f3a5931ep-55,
      0x1.2eb74966579e7p-57,
  };
};

/// Per-lane pairs hi + lo, summed by the caller (the ISA-neutral code folds them with
/// detail::pair_sum): the lanes of the widest vector.
struct lane_pairs {
  double hi[8] = {}, lo[8] = {};
  std::size_t count = 0;
};

/// What one ISA provides for accurate<double>. m is the row max (finite); the exps are
/// E_i = 2^headroom exp(x_i - m) as pairs (exp_pair_constants::headroom).
struct accurate_double_passes {
  double (*max)(const double* x, std::size_t n);
  /// The sum of the E_i, per lane, error-free but for terms of order u^2 (see the kernel).
  void (*exp_sum)(const double* x, double m, std::size_t n, lane_pairs& sum);
  /// The same, storing E_i = e_hi_i + e_lo_i (rows that fit in the cache: no second exp).
  void (*store_exp_and_sum)(const double* x, double m, double* e_hi, double* e_lo, std::size_t n,
                            lane_pairs& sum);
  /// y_i = E_i (inverse_hi + inverse_lo) 2^-headroom from stored pairs, rounded once.
  void (*scale)(const double* e_hi, const double* e_lo, double inverse_hi, double inverse_lo,
                double* y, std::size_t n);
  /// y_i = E_i (inverse_hi + inverse_lo) 2^-headroom, rounded once (subnormal results too);
  /// streaming stores when `stream` (y need not be aligned).
  void (*exp_scaled)(const double* x, double m, double inverse_hi, double inverse_lo, double* y,
                     std::size_t n, bool stream);
  /// y_i = (x_i - m) - (log_hi + log_lo), rounded once (x_i - m exact as a pair; both terms
  /// are <= 0, so nothing cancels). x_i = -inf gives -inf.
  void (*log_softmax)(const double* x, double m, double log_hi, double log_lo, double* y,
                      std::size_t n);
  /// e_hi_i + e_lo_i = E_i (|e_lo_i| <= ulp(e_hi_i) / 2): the pair exp alone, for its tests and
  /// for the Newton step of log(sum) (softlab::accurate's log_softmax and logsumexp).
  void (*exp_pairs)(const double* x, double m, double* e_hi, double* e_lo, std::size_t n);
};

template <class Arch>
struct accurate_double_kernel {
  using batch = ::xsimd::batch<double, Arch>;
  using bits = ::xsimd::batch<std::int64_t, Arch>;
  using lane = lanes<Arch, double>;
  using pair = detail::rounded_and_error<batch>;  // value + error: the high and the low part
  using constants = exp_pair_constants;
  static constexpr std::size_t width = batch::size;
  static constexpr std::size_t group = 4 * width;  // four vectors in flight per step
  /// The sum pass folds its accumulators every block: each lane's low part then sums at most
  /// block_elements / group terms of at most u times its high part (see exp_sum).
  static constexpr std::size_t block_elements = 4096;

  /// 2^headroom exp(x - m) as a pair, minus_m = -m (see the file's header). A NaN x gives NaN.
  SOFTLAB_ALWAYS_INLINE static pair exp_pair(const batch& x, const batch& minus_m) {
    using c = constants;
    const auto d = detail::two_sum(x, minus_m);
    const auto below = d.value < batch(c::lowest_argument);  // false for NaN
    const batch d_hi = ::xsimd::select(below, batch(c::lowest_argument), d.value);
    const batch d_lo = ::xsimd::select(below, batch(0.0), d.error);  // -inf: NaN there
    const batch shifted = lane::fma(d_hi, batch(c::inverse_step), batch(c::rounding_shift));
    const batch k = shifted - batch(c::rounding_shift);
    const batch a = lane::fnma(k, batch(c::step_1), d_hi);            // exact
    const auto r = detail::two_sum(a, k * batch(-c::step_2));         // k c2 exact
    const batch t = lane::fnma(k, batch(c::step_3), r.error + d_lo);  // |t| < 2^-43
    const batch s = r.value;
    // exp(s) = (1 + s + s^2/2) + s^3 q(s): the head exactly as a pair, the cubic in double.
    const auto square = lane::two_product(s, s);
    const batch q = lane::fma(
        lane::fma(
            lane::fma(lane::fma(batch(c::taylor_7), s, batch(c::taylor_6)), s, batch(c::taylor_5)),
            s, batch(c::taylor_4)),
        s, batch(c::taylor_3));
    const batch cubic = (s * square.value) * q;
    const auto linear = detail::fast_two_sum(batch(1.0), s);
    const auto head = detail::fast_two_sum(linear.value, batch(0.5) * square.value);
    const batch low = (linear.error + head.error) + lane::fma(batch(0.5), square.error, cubic);
    // exp(s + t) = exp(s) + t exp(s); exp(s) = head + cubic to 2^-53 is enough for t's term.
    const batch exp_lo = lane::fma(t, head.value + cubic, low);
    // times 2^(j/128) = T_hi + T_lo: T_hi head exactly, the cross terms rounded (below 2^-27).
    const bits shifted_bits = ::xsimd::bitwise_cast<bits>(shifted);
    const bits j = shifted_bits & bits(127);
    const batch t_hi = lane::gather(c::table_hi, j), t_lo = lane::gather(c::table_lo, j);
    const auto product = lane::two_product(t_hi, head.value);
    const auto e = detail::fast_two_sum(product.value,
                                        product.error + lane::fma(t_hi, exp_lo, t_lo * head.value));
    // 2^(q + headroom): q = floor(k / 128) sits in bits 7.. of `shifted`; moved to the exponent
    // field, modulo 2^12, and biased (q + 1023 + 512 lies in [435, 1535]).
    const bits exponent_field = bits(std::int64_t(0xfff0000000000000ull));
    const batch scale = ::xsimd::bitwise_cast<batch>(((shifted_bits << 45) & exponent_field) +
                                                     bits(std::int64_t(1023 + c::headroom) << 52));
    return {e.value * scale, e.error * scale};
  }

  /// y = z 2^-headroom rounded once, z = E (inverse_hi + inverse_lo), inverse = 2^headroom / sum.
  /// z itself (2^headroom times the weight) is normal: where the weight is normal, the exact
  /// power-of-two scaling of z's rounding is the weight's rounding. Where it is subnormal (z <
  /// 2^(headroom - 1022): rare vectors, tested per vector), z is formed as an exact pair and
  /// rounded once to the subnormal grid by round_to_subnormal.
  SOFTLAB_ALWAYS_INLINE static batch weight(const pair& e, const batch& inverse_hi,
                                            const batch& inverse_lo) {
    const batch cross = lane::fma(e.value, inverse_lo, e.error * inverse_hi);
    batch z;
    if constexpr (lane::fused) {
      z = lane::fma(e.value, inverse_hi, cross);
    } else {
      const auto product = lane::two_product(e.value, inverse_hi);
      z = product.value + (product.error + cross);
    }
    constexpr double smallest_normal_z = 0x1p-1022 * 0x1p+512;
    static_assert(constants::headroom == 512);
    const auto subnormal = z < batch(smallest_normal_z);
    const batch y = z * batch(0x1p-512);
    if (!::xsimd::any(subnormal)) return y;
    const auto product = lane::two_product(e.value, inverse_hi);
    return ::xsimd::select(
        subnormal, round_to_subnormal(detail::fast_two_sum(product.value, product.error + cross)),
        y);
  }

  /// (z_hi + z_lo) 2^-headroom rounded to nearest on the subnormal grid 2^-1074, once, for z <
  /// 2^(headroom - 1022) (other lanes give garbage). In units of 2^-1074, w = z 2^(1074 -
  /// headroom) < 2^52, exactly as w_hi + w_lo; 2^52 + w_hi rounds w_hi to an integer (the
  /// spacing there is 1), whose remainder f = w_hi - integer is exact. Only a tie of w_hi (f =
  /// +-1/2, resolved to even) can differ from w's rounding, when w_lo points away from the
  /// chosen side: then the other neighbour is taken. The integer k is the bit pattern of the
  /// subnormal k 2^-1074 (k = 2^52 is the smallest normal, also right).
  static batch round_to_subnormal(const pair& z) {
    const batch w_hi = z.value * batch(0x1p+562), w_lo = z.error * batch(0x1p+562);
    const batch shift(0x1p+52);
    const batch rounded = shift + w_hi;
    const batch f = w_hi - (rounded - shift);
    const batch up =
        ::xsimd::select((f == batch(0.5)) & (w_lo > batch(0.0)), batch(1.0), batch(0.0));
    const batch down =
        ::xsimd::select((f == batch(-0.5)) & (w_lo < batch(0.0)), batch(1.0), batch(0.0));
    const batch integer = (rounded + up) - down;  // exact: integers in [2^52, 2^53]
    return ::xsimd::bitwise_cast<batch>(::xsimd::bitwise_cast<bits>(integer) -
                                        ::xsimd::bitwise_cast<bits>(shift));
  }

  /// The E_i of four vectors from x + i (load_unaligned), or of the tail padded with -inf.
  SOFTLAB_ALWAYS_INLINE static std::array<pair, 4> exp_group(const double* x,
                                                             const batch& minus_m) {
    std::array<pair, 4> e;
    SOFTLAB_UNROLL for (std::size_t u = 0; u < 4; ++u) e[u] =
        exp_pair(batch::load_unaligned(x + u * width), minus_m);
    return e;
  }
  SOFTLAB_ALWAYS_INLINE static pair exp_tail(const double* x, std::size_t count,
                                             const batch& minus_m) {
    return exp_pair(lane::load_tail(x, count, -__builtin_inf()), minus_m);
  }

  /// The sum of the E_i: per lane, each vector's high parts by two-sum into four accumulators
  /// (hi exact, its rounding errors and the low parts summed in lo: at most block_elements /
  /// group terms per block, each below u hi, so lo errs by less than (block / group)^2 u^2 hi,
  /// 2^-88 for SSE2's 512 terms); every block the accumulators are folded into a pair total by
  /// pair_sum (3u^2 each). A tail lane padded with -inf adds 2^-584, below 2^-1096 of the sum.
  template <bool store>
  static void exp_sum_impl(const double* x, double m, double* e_hi, double* e_lo, std::size_t n,
                           lane_pairs& sum) {
    const batch minus_m(-m);
    batch total_hi(0.0), total_lo(0.0);
    for (std::size_t start = 0; start < n; start += block_elements) {
      const std::size_t end = start + block_elements < n ? start + block_elements : n;
      std::array<batch, 4> hi, lo;
      hi.fill(batch(0.0));
      lo.fill(batch(0.0));
      auto add = [&](std::size_t u, const pair& e) {
        const auto s = detail::two_sum(hi[u], e.value);
        hi[u] = s.value;
        lo[u] += s.error + e.error;
      };
      auto keep = [&](std::size_t i, const pair& e) {
        if constexpr (store) {
          e.value.store_unaligned(e_hi + i);
          e.error.store_unaligned(e_lo + i);
        }
      };
      detail::for_each_block<width, group>(
          start, end,
          [&](std::size_t i) {
            const auto e = exp_group(x + i, minus_m);
            SOFTLAB_UNROLL for (std::size_t u = 0; u < 4; ++u) {
              keep(i + u * width, e[u]);
              add(u, e[u]);
            }
          },
          [&](std::size_t i) {
            const pair e = exp_pair(batch::load_unaligned(x + i), minus_m);
            keep(i, e);
            add(0, e);
          },
          [&](std::size_t i, std::size_t count) {
            const pair e = exp_tail(x + i, count, minus_m);
            if constexpr (store) {
              lane::store_tail(e.value, e_hi + i, count);
              lane::store_tail(e.error, e_lo + i, count);
            }
            add(1, e);
          });
      const auto a = detail::pair_sum(hi[0], lo[0], hi[1], lo[1]);
      const auto b = detail::pair_sum(hi[2], lo[2], hi[3], lo[3]);
      const auto block = detail::pair_sum(a.value, a.error, b.value, b.error);
      const auto t = detail::pair_sum(total_hi, total_lo, block.value, block.error);
      total_hi = t.value;
      total_lo = t.error;
    }
    total_hi.store_unaligned(sum.hi);
    total_lo.store_unaligned(sum.lo);
    sum.count = width;
  }

  static void exp_sum(const double* x, double m, std::size_t n, lane_pairs& sum) {
    exp_sum_impl<false>(x, m, nullptr, nullptr, n, sum);
  }
  static void store_exp_and_sum(const double* x, double m, double* e_hi, double* e_lo,
                                std::size_t n, lane_pairs& sum) {
    exp_sum_impl<true>(x, m, e_hi, e_lo, n, sum);
  }

  static void scale(const double* e_hi, const double* e_lo, double inverse_hi, double inverse_lo,
                    double* y, std::size_t n) {
    const batch hi(inverse_hi), lo(inverse_lo);
    detail::for_each_vector<width>(
        n,
        [&](std::size_t i) {
          weight({batch::load_unaligned(e_hi + i), batch::load_unaligned(e_lo + i)}, hi, lo)
              .store_unaligned(y + i);
        },
        [&](std::size_t i, std::size_t count) {
          const pair e{lane::load_tail(e_hi + i, count, 0.0),
                       lane::load_tail(e_lo + i, count, 0.0)};
          lane::store_tail(weight(e, hi, lo), y + i, count);
        });
  }

  static void exp_scaled(const double* x, double m, double inverse_hi, double inverse_lo, double* y,
                         std::size_t n, bool stream) {
    const batch minus_m(-m), hi(inverse_hi), lo(inverse_lo);
    // Plain stores up to the first vector-aligned y, streaming stores from there when `stream`.
    detail::for_each_block_aligned_to<width, group, width * sizeof(double)>(
        y, n, stream,
        [&](std::size_t i, bool aligned) {
          const auto e = exp_group(x + i, minus_m);
          SOFTLAB_UNROLL for (std::size_t u = 0; u < 4; ++u)
              lane::store(weight(e[u], hi, lo), y + i + u * width, aligned);
        },
        [&](std::size_t i, bool aligned) {
          lane::store(weight(exp_pair(batch::load_unaligned(x + i), minus_m), hi, lo), y + i,
                      aligned);
        },
        [&](std::size_t i, std::size_t count) {
          lane::store_tail(weight(exp_tail(x + i, count, minus_m), hi, lo), y + i, count);
        });
    if (stream) _mm_sfence();  // streamed stores are weakly ordered: visible before returning
  }

  static void log_softmax(const double* x, double m, double log_hi, double log_lo, double* y,
                          std::size_t n) {
    const batch minus_m(-m), minus_log_hi(-log_hi), log_low(log_lo);
    const batch minus_inf(-__builtin_inf());
    lane::template transform<2 * width>(x, y, n, 0.0, [&](const batch& v) {
      const auto d = detail::two_sum(v, minus_m);
      const auto head = detail::two_sum(d.value, minus_log_hi);
      const batch result = head.value + ((head.error + d.error) - log_low);
      // head.value -inf: x_i = -inf, or x_i - m - log s beyond -DBL_MAX (x_i = -2^970, m =
      // DBL_MAX), where the exact log-weight rounds to -inf too; the low parts are NaN there.
      return ::xsimd::select(head.value == minus_inf, minus_inf, result);
    });
  }

  static void exp_pairs(const double* x, double m, double* e_hi, double* e_lo, std::size_t n) {
    const batch minus_m(-m);
    detail::for_each_vector<width>(
        n,
        [&](std::size_t i) {
          const pair e = exp_pair(batch::load_unaligned(x + i), minus_m);
          e.value.store_unaligned(e_hi + i);
          e.error.store_unaligned(e_lo + i);
        },
        [&](std::size_t i, std::size_t count) {
          const pair e = exp_tail(x + i, count, minus_m);
          lane::store_tail(e.value, e_hi + i, count);
          lane::store_tail(e.error, e_lo + i, count);
        });
  }

  static constexpr accurate_double_passes passes{
      &lane::max, &exp_sum, &store_exp_and_sum, &scale, &exp_scaled, &log_softmax, &exp_pairs};
};

}  // namespace softlab::simd
