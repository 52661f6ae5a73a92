// The highway peer: gemma.cpp's softmax on Highway 1.0.3's Exp, compiled for Highway's AVX2 and
// AVX3 (AVX-512) static targets (highway_avx2.cpp, highway_avx512.cpp; the algorithm in
// highway_softmax.hpp). Highway has no SSE2 target, so isas = avx2 | avx512. This TU is
// ISA-neutral: it checks arguments and picks the kernels of softlab::active_isa(). It is
// registered only where Highway's own detection (hwy::SupportedTargets(), read, never changed)
// finds its AVX2 target.
#include "adapters.hpp"
#include "isa_dispatch.hpp"

#include <hwy/targets.h>

#include <string>

#ifndef SOFTLAB_HIGHWAY_VERSION
#error "SOFTLAB_HIGHWAY_VERSION (the Highway version string) is set by peers/CMakeLists.txt"
#endif

namespace softlab::peers::detail {
namespace {

const tables_by_isa& highway_tables() {
  static const tables_by_isa tables{highway_sse2::tables(), highway_avx2::tables(),
                                    highway_avx512::tables()};
  return tables;
}

/// Highway's own detection: its AVX2 target also wants BMI2, F16C, PCLMUL and AES, which
/// softlab's avx2 does not check; its AVX3 target is softlab's avx512 plus those.
bool highway_target_runs() { return (hwy::SupportedTargets() & HWY_AVX2) != 0; }

constexpr implementation_facts facts{
    .name = "highway",
    .algorithm = "Highway " SOFTLAB_HIGHWAY_VERSION
                 " hn::Exp (contrib/math, 1 ULP stated) in gemma.cpp's softmax: max; exp(x - max) "
                 "stored, summed in double; times 1/sum",
    .passes = "3: read; read + write; read + write (log_softmax 3: read; read; read + write)",
    .stated_bound = "none stated by the library",
    .vectorized = true,
    .meets_contract = false,
    .subnormals = subnormal_results::kept,
};

constexpr std::string_view origin = "Highway " SOFTLAB_HIGHWAY_VERSION;

}  // namespace

bool highway_runs_here() { return runs_here(highway_tables()) && highway_target_runs(); }
kernel<float> highway_float() {
  return isa_dispatched_kernel<float, &highway_tables>(facts, origin);
}
kernel<double> highway_double() {
  return isa_dispatched_kernel<double, &highway_tables>(facts, origin);
}

std::string highway_description() {
  return "highway: Highway " SOFTLAB_HIGHWAY_VERSION
         ", built (float, double; gemma.cpp's softmax on hn::Exp; avx2, avx512 kernels; " +
         std::string(highway_runs_here() ? "registered" : "not registered: no AVX2 target here") +
         ")";
}

}  // namespace softlab::peers::detail
