// softlab_peers/peers.hpp: the peers, the libraries users would pick instead of softlab
// (libtorch, oneDNN, XNNPACK, SLEEF, Highway, Eigen), behind softlab's interface as runtime
// registry entries.
//
//   softlab::registry r = softlab::builtin_registry();
//   softlab::peers::register_peers(r);   // adds "torch", "onednn", "xnnpack", "sleef",
//                                        // "highway", "eigen": those built
//
// Link softlab::peers (CMake: `if(TARGET softlab_peers)`; built with SOFTLAB_PEERS=AUTO|ON).
// This header includes no peer library's header: nothing of the peer libraries (their flags,
// definitions, ABI macros) reaches the code that includes it.
//
// Every entry checks its arguments exactly like softlab (std::invalid_argument for a size
// mismatch or a partial overlap; empty input a no-op; in place allowed), then calls the
// library on the caller's buffers. None meets softlab's contract (facts.meets_contract is
// false): the libraries state no error bound (softmax_bound_ulps and log_bound_a return
// softlab::no_bound_claimed) and differ on -inf, +inf and NaN inputs; tests/peers prints how.
//
//  - torch   (float, double) at::softmax_out / at::log_softmax_out over torch::from_blob views
//            of the caller's buffers, dim 0; logsumexp is at::logsumexp. Registration sets
//            at::set_num_threads(1), process-wide, once, and, before ATen's first CPU op,
//            ATEN_CPU_CAPABILITY (unless the user set it) to the best the CPU runs (avx512,
//            avx2, default: libtorch 1.13 leaves AVX512 opt-in); the capability ATen reports
//            is in the origin, e.g. "libtorch 1.13.1 (ATen CPU capability AVX2)".
//  - onednn  (float; bf16 where oneDNN 2.6 runs it: CPUs with AVX-512, checked by a small
//            call at registration) dnnl::softmax_v2_forward, softmax_accurate and softmax_log,
//            forward_inference, on a 1-D f32 (bf16) memory over the caller's buffers. logsumexp is
//            DERIVED (oneDNN has no logsumexp primitive): one softmax_log into a per-thread
//            scratch buffer, then x_m - y_m at the first largest x_m.
//  - xnnpack (float) xnn_create_softmax_nc_f32 / xnn_setup / xnn_run_operator, batch 1, no
//            thread pool. XNNPACK has no log-softmax: log_softmax and logsumexp throw
//            std::logic_error("xnnpack has no log_softmax ...") after the argument checks.
//  - sleef   (float, double; sse2, avx2, avx512) ATen's CPU softmax algorithm written directly
//            on SLEEF 3.5's Sleef_exp{f4,f8,f16,d2,d4,d8}_u10 (1.0-ULP exp): max; exp(x - max)
//            stored and summed in a vector accumulator; y *= 1/sum. log_softmax as ATen's
//            ((x - max) - log sum, std::log), logsumexp max + log sum (max 0 if infinite, as
//            at::logsumexp). libtorch's algorithm at its best: no dispatch, no tensors.
//  - highway (float, double; avx2, avx512) gemma.cpp's softmax on Highway 1.0.3's hn::Exp,
//            Highway's static targets N_AVX2 and N_AVX3: max from hwy::LowestValue; exp stored;
//            the sum in double; y *= 1/sum. Highway has no SSE2 target: forced to sse2 it runs
//            its avx2 kernels; registered only where Highway's detection finds AVX2.
//  - eigen   (float, double; sse2, avx2, avx512) Eigen 3.4 arrays as a user writes them:
//            y = (a - a.maxCoeff()).exp(); y /= y.sum(); log_softmax a - max - log(sum exp),
//            logsumexp max + log(sum exp). Each ISA's object has its own copy of Eigen, its
//            namespace renamed (softlab_eigen_<isa>), so the linker cannot merge an AVX-512
//            copy of an Eigen template into the SSE2 path.
// sleef, highway and eigen have per-ISA kernels (kernel::isas): the tools list them as
// name@isa and force each with softlab::force_isa.
//
// Deviations from the contract, as measured here (tests/peers prints them, peers_report.txt):
//  - all -inf (a fully masked row): torch and onednn give NaN everywhere, xnnpack -inf;
//  - +inf entries: torch NaN everywhere; onednn NaN at the +inf, 0 elsewhere; xnnpack -inf;
//  - a NaN: torch NaN everywhere (as the contract); onednn hides it: NaN at its position, 0
//    elsewhere; xnnpack -inf everywhere;
//  - small results: torch keeps subnormals; onednn returns 0 below about 1.41 x the smallest
//    normal float (normal results included); xnnpack returns 0 below the smallest normal, and
//    just above it loses exp's polynomial term (t * 2^n underflows, and XNNPACK runs with
//    denormals flushed), returning about 2^n: up to 41% off in [FLT_MIN, 2 FLT_MIN), 12% in
//    [8, 16) FLT_MIN, 6% in [16, 64) FLT_MIN;
//  - onednn's log_softmax errs by ~24 u (its log(1) is 1.4e-6), so does the derived logsumexp.
//  - sleef (every ISA): as torch: all -inf and +inf give NaN everywhere (log_softmax too;
//    logsumexp is right: -inf, +inf); a NaN gives NaN everywhere (as the contract); subnormal
//    results kept.
//  - highway: all -inf and +inf give NaN everywhere (logsumexp of a +inf: NaN). Highway's Exp
//    returns 0 for a NaN argument, and Highway's Max may or may not carry a NaN into the max
//    (x86 max returns its second operand when either is NaN): a NaN input then gets weight 0
//    and the rest sum to 1, the NaN hidden (float [1 nan 2]: [0.27 0 0.73], logsumexp 2.31),
//    or, when the NaN reaches the max, every weight is 0 * (1/0) = NaN (double [1 nan 2]).
//    Subnormal results kept.
//  - eigen: all -inf gives NaN everywhere (logsumexp NaN too); +inf NaN everywhere; a NaN gives NaN
//    everywhere, as the contract. Eigen's vector exp (pexp, on the lanes of whole packets; the
//    unaligned head and the tail go through std::exp) clamps its argument: below about -87.3
//    (float) it returns 2.9e-39, and in double it returns about 5.6e-309 for arguments below about
//    -708, on SSE2 and AVX2 (the AVX-512 pexp returns 0 for -inf: not measured here, no AVX-512
//    CPU). So a masked (-inf) entry on a packet lane gets 1.9e-39 (float, n = 16) or 3.5e-309
//    (double) instead of 0, and results that should be subnormal come out near the smallest normal
//    (float softmax([0 x15, -100]): 1.96e-40 for 2.48e-45), while on the scalar lanes they are
//    kept. And the result depends on y's alignment: the same input into another buffer may
//    differ in the last bits (which elements are scalar, and the sum's order).
//
// The attention peers (register_attention_peers; attention_kernel entries: meets_contract false,
// no bound functions, isas 0, origin the library, version and, for libtorch, the BLAS):
//  - torch_composed  (float, bf16) attention as libtorch users write it, over torch::from_blob
//            views of the caller's heads (their strides; grouped-query attention: K and V heads
//            expanded to the query heads, a copy): S = at::matmul(q, k^T) * scale; an additive
//            mask added (double converted to float), a boolean keep-mask and the causal offset
//            as masked_fill(-inf); P = at::softmax(S, -1); O = at::matmul(P, v), copied into O;
//            logsumexp, when asked, at::logsumexp(S, -1).
//  - torch_sdpa      (float, bf16) libtorch 1.13's at::_scaled_dot_product_attention(q, k, v,
//            mask, 0.0, false, is_causal): on the CPU the same kernels (matmul of q / d^(1/4)
//            and a new k^T / d^(1/4), mask added, softmax, matmul). It has no scale argument: a
//            scale other than 1/sqrt(d) multiplies q first (one more pass). Its is_causal keeps
//            j <= r (top left): used for causal offset 0 without a mask; other offsets (decode,
//            a suffix) and masks go in as one additive float mask, -inf at the masked keys. No
//            logsumexp: asked for one, it throws std::logic_error after the argument checks.
//  - onednn_composed (float; bf16 only where a small bf16 call runs: oneDNN 2.6 has bf16
//            matmul only with AVX-512, so not on AVX2 machines) oneDNN 2.6 primitives: matmul
//            with the scale as output scale, binary_add of the mask (the caller's float mask, or
//            one built with -inf at the keys a keep-mask or the causal offset drops), softmax_v2
//            softmax_accurate in place, matmul into the caller's O; 4-D [kv_heads, group, rows,
//            cols] so grouped-query heads broadcast K and V, nothing copied (here, by
//            ONEDNN_VERBOSE: matmul gemm:jit, oneDNN's own sgemm, not the BLAS; binary jit:uni;
//            softmax jit:avx2). Primitives cached per shape, strides, scale, mask kind and thread
//            count, per thread (at most 8 shapes). logsumexp DERIVED as the softmax peer's:
//            softmax_log of S, then S_m - y_m.
// Threads: each call runs its library on attention_options::threads (default
// softlab::default_threads()): OpenMP's count (libtorch's intra-op loops, the OpenMP build of
// OpenBLAS under its matmul, oneDNN) set for the call and restored on return; so every entry of
// a benchmark runs at the same count and the softmax peers keep theirs. libtorch's matmul runs
// on whatever libblas.so.3 Debian's alternatives give (install libopenblas0-openmp:
// SOFTLAB_PEER_PACKAGES; the reference BLAS is 20x slower); the origin names it, e.g.
// "libtorch 1.13.1 (ATen CPU capability AVX2); BLAS openblas-openmp, OpenBLAS 0.3.21 ... Zen".
// Arguments: softlab::detail::checked_attention first, so bad input raises softlab's
// std::invalid_argument and nothing is written.
// Deviations from the attention contract, as measured here (tests/peers asserts them and prints
// attention_peers_report.txt), all three alike unless said:
//  - a fully masked row (causal offset -1): O NaN (exp(-inf - -inf)), not zeros; logsumexp -inf
//    (torch_composed) or NaN (onednn_composed);
//  - kv_len 0: torch gives the contract's zeros (logsumexp -inf); onednn_composed throws
//    std::logic_error (oneDNN takes no empty dimension);
//  - a NaN in the K row of a masked key leaks: its score is NaN + -inf = NaN, the whole row NaN;
//    a NaN in the V row of a masked key leaks into its column (weight 0 times NaN);
//  - a +inf logit: NaN row (inf - inf in the softmax), not the mean of the +inf keys' V rows;
//  - a NaN query: a NaN row, as the contract;
//  - bf16 (torch): S, P and O in bf16, each op rounded to bf16 (softlab computes in float and
//    rounds O once); a float additive mask rounded to bf16 for torch_sdpa.
//
// Per-call setup is avoided: the oneDNN engine and stream are created once per thread, and
// the oneDNN primitive (with its memory objects and argument map) and the XNNPACK operator are
// cached per size in thread_local maps; a call rebinds the data pointers and runs.
// Entry points are reentrant; the caches are per thread.
#pragma once

#include <softlab/registry.hpp>

#include <span>
#include <string>
#include <vector>

namespace softlab {
class attention_registry;  // softlab/attention_registry.hpp
}  // namespace softlab

namespace softlab::peers {

/// Adds every peer built into this library to `into`, for every type each supports.
/// Throws std::invalid_argument (from registry::add) if a name is already registered.
void register_peers(softlab::registry& into);

/// Adds the attention peers built into this library to `into` (attention_kernel entries with
/// meets_contract false and no bound functions), for every storage type each supports:
/// "torch_composed", "torch_sdpa" (float, bf16), "onednn_composed" (float). Each runs a small
/// call of each type first (libtorch and oneDNN may lack a CPU kernel for bf16).
void register_attention_peers(softlab::attention_registry& into);

/// One line per peer: name, library and version, and whether it is built ("torch 1.13.1", ...).
std::vector<std::string> peer_descriptions();

/// A float softmax as a library's users usually call it, with the library allocating the result
/// on every call, e.g. torch::softmax(x, 0), which returns a new tensor. Not a registry entry:
/// the registry's entries write into the caller's buffer, and the tests and the accuracy study
/// iterate the registry. `softmax` checks its arguments like the registry's entries, makes the
/// library's allocating call, copies the result into y (so it does the same job as every entry)
/// and drops the result; the benchmarks time it as "torch_alloc".
struct allocating_softmax {
  std::string name;        ///< "torch_alloc"
  std::string variant_of;  ///< the registry entry whose library it calls ("torch")
  void (*softmax)(std::span<const float> x, std::span<float> y) = nullptr;
};

/// The allocating calls of the peers built here: torch's when torch is built, else none.
std::vector<allocating_softmax> allocating_softmax_variants();

}  // namespace softlab::peers
