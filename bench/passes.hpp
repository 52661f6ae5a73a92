// bench/passes.hpp: the passes/ microbenchmarks, registered only with `softlab-bench --passes`
// (not part of any default run): softlab::fast's two streaming passes taken apart, to find what
// limits them on a machine without hardware counters.
//
//   passes/<isa>/max/<n>                        the max loop alone (a read pass)
//   passes/<isa>/sum/<exp|mul>/p<bytes>/<n>     pass 1's sum loop over the whole row, no max:
//                                               the shifted exps, or the exp replaced by a
//                                               multiply; prefetching <bytes> ahead (p0: none)
//   passes/<isa>/pass1/<exp|mul>/b<block>/p<bytes>/<n>
//                                               pass 1 whole: per block of <block> elements the
//                                               block max, then the block's sum from L1 while
//                                               <bytes> ahead is prefetched, folded into the
//                                               running sum as fast.cpp does
//   passes/<isa>/pass1/shipped/<n>              the same with fast's own block loop, as shipped
//   passes/<isa>/pass2/<exp|mul>/<nt|plain>/p<bytes>/<n>
//                                               pass 2: y = exps (or x / 2) times the reciprocal
//                                               pair, non-temporal or plain stores, x prefetched
//                                               <bytes> ahead (p0: none)
//   passes/<isa>/pass2/shipped/<n>              fast's own pass 2, as shipped
//
// float, on softmax/float's uniform input and the same cold-run buffer rotation (buffers.hpp),
// so roofline/<read|copy_nt>/<n> of the same run (filter both in) are their memory floors:
// pass 1 against read, pass 2 against copy_nt. Each family is registered for every instruction
// set the CPU runs. bytes_per_second counts x (pass 1) or x and y (pass 2).
#pragma once

namespace softlab::bench {

void register_pass_benchmarks();

}  // namespace softlab::bench
