# The smoke test of softlab-bench: runs `BENCH --smoke` with JSON out to OUT and fails unless
#  - it exits 0;
#  - every family has benchmarks: softmax, log_softmax, logsumexp, pairwise_attention, rows,
#    softmax_inputs, scores (for float, double, long-double; bin50 too for the first five),
#    roofline, attention (float, bf16, f16), roofline/fma_peak;
#  - no benchmark reports an error (error_occurred: a kernel threw);
#  - every benchmark carries items_per_second, bytes_per_second (not roofline/fma_peak, which
#    touches no memory) and ns_per_element, and
#    cycles_per_element exactly when the context states cpu_mhz.
# Usage: cmake -DBENCH=path/to/softlab-bench -DOUT=smoke.json -P check_smoke.cmake
cmake_minimum_required(VERSION 3.25)  # string(JSON), if(IN_LIST)
foreach(required BENCH OUT)
  if(NOT DEFINED ${required})
    message(FATAL_ERROR "check_smoke.cmake: -D${required}=... is required")
  endif()
endforeach()

execute_process(COMMAND ${BENCH} --smoke --benchmark_out=${OUT} --benchmark_out_format=json
                OUTPUT_VARIABLE console ERROR_VARIABLE errors RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "softlab-bench --smoke exited with ${status}:\n${errors}\n${console}")
endif()

file(READ ${OUT} report)
string(JSON has_clock ERROR_VARIABLE no_clock GET "${report}" context cpu_mhz)
string(JSON benchmarks GET "${report}" benchmarks)
string(JSON count LENGTH "${benchmarks}")
if(count EQUAL 0)
  message(FATAL_ERROR "softlab-bench --smoke ran no benchmark:\n${console}")
endif()

set(seen "")  # family/type prefixes, e.g. "softmax/float", "softmax_inputs/wide", "roofline/read"
set(failures "")
math(EXPR last "${count} - 1")
foreach(index RANGE ${last})
  string(JSON entry GET "${benchmarks}" ${index})
  string(JSON name GET "${entry}" name)
  string(REGEX MATCH "^[^/]+/[^/]+" prefix "${name}")
  list(APPEND seen "${prefix}")
  string(JSON error ERROR_VARIABLE no_error GET "${entry}" error_occurred)
  if(NOT no_error AND error)
    string(JSON message ERROR_VARIABLE no_message GET "${entry}" error_message)
    list(APPEND failures "${name}: error: ${message}")
    continue()
  endif()
  set(counters items_per_second bytes_per_second ns_per_element)
  if(name MATCHES "^roofline/fma_peak")  # arithmetic in registers: no bytes
    set(counters items_per_second ns_per_element)
  endif()
  if(no_clock)
    string(JSON cycles ERROR_VARIABLE no_cycles GET "${entry}" cycles_per_element)
    if(NOT no_cycles)
      list(APPEND failures "${name}: cycles_per_element without a known clock")
    endif()
  else()
    list(APPEND counters cycles_per_element)
  endif()
  foreach(counter IN LISTS counters)
    string(JSON value ERROR_VARIABLE missing GET "${entry}" ${counter})
    if(missing OR NOT value GREATER 0)
      list(APPEND failures "${name}: ${counter} missing or not positive ('${value}')")
    endif()
  endforeach()
endforeach()

set(expected roofline/read roofline/copy roofline/copy_nt roofline/memcpy)
foreach(type float double long-double bin50)
  foreach(family softmax log_softmax logsumexp pairwise_attention rows)
    list(APPEND expected ${family}/${type})
  endforeach()
endforeach()
foreach(set wide near_underflow masked)
  list(APPEND expected softmax_inputs/${set})
endforeach()
foreach(type float double long-double)  # bin50's cap (1024 elements) is below any score batch
  list(APPEND expected scores/${type})
endforeach()
# The attention benchmarks (every storage type) and the arithmetic peak (SSE2 runs everywhere).
list(APPEND expected attention/float attention/bf16 attention/f16 roofline/fma_peak@sse2)
foreach(prefix IN LISTS expected)
  if(NOT prefix IN_LIST seen)
    list(APPEND failures "no benchmark named ${prefix}/...")
  endif()
endforeach()

if(failures)
  list(JOIN failures "\n  " listing)
  message(FATAL_ERROR "softlab-bench --smoke, ${count} benchmarks:\n  ${listing}")
endif()
message(STATUS "softlab-bench --smoke: ${count} benchmarks, every family present, no error")
