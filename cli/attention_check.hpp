// cli/attention_check.hpp: `softlab attention --q --k --v --check`, every attention
// implementation of the tool's registry (every instruction set the CPU has for the vectorized
// ones, and the peers) on the user's problem, against the exact MPFR row of
// softlab_reference/attention.hpp, one table row each:
//
//   implementation  isa  type  max_error_u  max_ratio  nan  verdict  worst
//
// max_error_u: the largest componentwise error |O_hat_c - O_c| / sum_j p_j |v_jc| over the
// checked rows, in units u = 2^-p of the storage type (2^-24 float, 2^-11 f16, 2^-8 bf16);
// max_ratio: the largest error / allowed, the implementation's stated bound evaluated for each
// row (attention_allowance), "no bound" for a peer; nan: NaN outputs over all of O; verdict
// "within bound", "BEYOND BOUND" or, for a peer, "not judged"; worst: head, row and column of
// the largest ratio (peers: of the largest error). A fully masked row's exact output is 0 with
// nothing allowed. ctx.status is 1 when an implementation that meets the contract is beyond
// its bound or fails; peers never make the check fail.
//
// The reference costs about kv_len (d + d_v) MPFR operations per row: beyond rows_per_head
// query rows per head, evenly spaced rows are checked (the first and the last included), and
// the output says so.
#pragma once

#include "attention_files.hpp"
#include "command.hpp"

#include <cstddef>

namespace softlab::cli {

/// rows_per_head 0: every row.
template <class T>
void check_attention(context& ctx, const attention_problem_files<T>& problem,
                     const attention_options& options, std::size_t rows_per_head);

extern template void check_attention<float>(context&, const attention_problem_files<float>&,
                                            const attention_options&, std::size_t);
extern template void check_attention<float16>(context&, const attention_problem_files<float16>&,
                                              const attention_options&, std::size_t);
extern template void check_attention<bfloat16>(context&, const attention_problem_files<bfloat16>&,
                                               const attention_options&, std::size_t);

}  // namespace softlab::cli
