// The xnnpack peer: XNNPACK's softmax operator (float), on the caller's buffers.
//
// xnn_initialize once per process; for each size n a thread meets, one operator
// xnn_create_softmax_nc_f32(channels = n, input_stride = n, output_stride = n, flags = 0) is made
// once and cached in a thread_local map; a call is xnn_setup_softmax_nc_f32(op, batch 1, x, y,
// no thread pool) (it only records the pointers) and xnn_run_operator(op, no thread pool).
// XNNPACK's softmax is three micro-kernels: rmax (read), raddstoreexpminusmax (read + write:
// exp(x - max) stored and summed), vmulc (read + write: times 1/sum).
//
// XNN_EXTRA_BYTES: XNNPACK may READ up to 16 bytes past the end of its input and output arrays
// (xnnpack.h: "the caller must allocate at least this many extra bytes"); softlab's callers
// promise no such padding. A read that stays within the 4 KiB page holding the array's last
// byte cannot fault, so the caller's buffers are used directly unless one ends within 16 bytes
// of a page boundary; then (about 1 call in 256 for random placement) the computation goes
// through a padded per-thread scratch buffer and is copied out.
//
// XNNPACK has no log-softmax: log_softmax and logsumexp check their arguments as softlab does
// (empty logsumexp is -inf), then throw std::logic_error("xnnpack has no log_softmax ...");
// deriving them as log of this softmax would report a softlab-made function as XNNPACK's.
#include "adapters.hpp"

#include <softlab/detail/arguments.hpp>
#include <softlab/detail/reductions.hpp>

#include <xnnpack.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#ifndef SOFTLAB_XNNPACK_VERSION
#error "SOFTLAB_XNNPACK_VERSION (the XNNPACK snapshot) is set by peers/CMakeLists.txt"
#endif

namespace softlab::peers::detail {
namespace {

xnn_status initialize_once() {
  static std::once_flag once;
  static xnn_status status = xnn_status_uninitialized;
  std::call_once(once, [] { status = xnn_initialize(nullptr); });
  return status;
}

struct operator_deleter {
  void operator()(xnn_operator_t op) const { xnn_delete_operator(op); }
};
using operator_ptr = std::unique_ptr<xnn_operator, operator_deleter>;

void check(xnn_status status, const char* what) {
  if (status != xnn_status_success)
    throw std::runtime_error(std::string("softlab::peers xnnpack: ") + what + " failed (status " +
                             std::to_string(static_cast<int>(status)) + ")");
}

/// This thread's softmax operator for n channels. Bounded: past 256 sizes it starts over.
xnn_operator_t softmax_operator(std::size_t n) {
  thread_local std::unordered_map<std::size_t, operator_ptr> cache;
  auto found = cache.find(n);
  if (found != cache.end()) return found->second.get();
  if (cache.size() >= 256) cache.clear();
  xnn_operator_t op = nullptr;
  check(xnn_create_softmax_nc_f32(n, n, n, 0, &op), "xnn_create_softmax_nc_f32");
  return cache.emplace(n, operator_ptr(op)).first->second.get();
}

/// True if the XNN_EXTRA_BYTES after [data, data + bytes) lie in the page of its last byte.
bool over_read_stays_in_page(const void* data, std::size_t bytes) {
  constexpr std::uintptr_t page = 4096;  // the smallest x86-64 page: conservative for larger
  const std::uintptr_t last = reinterpret_cast<std::uintptr_t>(data) + bytes - 1;
  return last / page == (last + XNN_EXTRA_BYTES) / page;
}

void run(const float* x, float* y, std::size_t n) {
  xnn_operator_t op = softmax_operator(n);
  check(xnn_setup_softmax_nc_f32(op, 1, x, y, nullptr), "xnn_setup_softmax_nc_f32");
  check(xnn_run_operator(op, nullptr), "xnn_run_operator");
}

void xnnpack_softmax(std::span<const float> x, std::span<float> y) {
  softlab::detail::check_elementwise<float>("softmax", x, std::span<const float>(y));
  if (x.empty()) return;
  const std::size_t n = x.size();
  if (over_read_stays_in_page(x.data(), n * sizeof(float)) &&
      over_read_stays_in_page(y.data(), n * sizeof(float))) {
    run(x.data(), y.data(), n);
    return;
  }
  // Padded per-thread copy (input, then output in place over it), XNN_EXTRA_BYTES to spare.
  thread_local std::vector<float> scratch;
  scratch.assign(n + XNN_EXTRA_BYTES / sizeof(float), 0.0f);
  std::copy(x.begin(), x.end(), scratch.begin());
  run(scratch.data(), scratch.data(), n);
  std::copy(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(n), y.begin());
}

[[noreturn]] void unsupported(const char* function) {
  throw std::logic_error(std::string("xnnpack has no log_softmax (softlab::peers xnnpack: ") +
                         function + " is not supported)");
}

void xnnpack_log_softmax(std::span<const float> x, std::span<float> y) {
  softlab::detail::check_elementwise<float>("log_softmax", x, std::span<const float>(y));
  if (x.empty()) return;
  unsupported("log_softmax");
}

float xnnpack_logsumexp(std::span<const float> x) {
  if (x.empty()) return -softlab::detail::infinity<float>();  // log of an empty sum, as softlab
  unsupported("logsumexp");
}

double no_bound(const bound_inputs&) { return no_bound_claimed; }

}  // namespace

std::optional<kernel<float>> xnnpack_float() {
  if (initialize_once() != xnn_status_success) return std::nullopt;
  static constexpr implementation_facts facts{
      .name = "xnnpack",
      .algorithm = "XNNPACK " SOFTLAB_XNNPACK_VERSION
                   " softmax_nc_f32: max; exp(x - max) stored and summed (polynomial exp); "
                   "times 1/sum; no log_softmax",
      .passes = "3: read; read + write; read + write",
      .stated_bound = "none stated by the library",
      .vectorized = true,
      .meets_contract = false,
      .subnormals = subnormal_results::flushed_to_zero,
  };
  return kernel<float>{
      .facts = facts,
      .softmax = &xnnpack_softmax,
      .log_softmax = &xnnpack_log_softmax,
      .logsumexp = &xnnpack_logsumexp,
      .pairwise_attention = nullptr,
      .softmax_bound_ulps = &no_bound,
      .log_bound_a = &no_bound,
      .origin = "XNNPACK " SOFTLAB_XNNPACK_VERSION,
  };
}

std::string xnnpack_description() {
  const xnn_status status = initialize_once();
  return std::string("xnnpack: XNNPACK " SOFTLAB_XNNPACK_VERSION ", built (float") +
         (status == xnn_status_success
              ? "; no thread pool; no log_softmax or logsumexp)"
              : "), but xnn_initialize failed (status " + std::to_string(static_cast<int>(status)) +
                    "): not registered");
}

}  // namespace softlab::peers::detail
