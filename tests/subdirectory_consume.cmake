# Configures, builds and runs tests/subdirectory_consumer, a project that adds softlab with
# add_subdirectory, and checks that softlab configured as a subproject is the library alone:
#  - none of the lab's dependencies was looked up (no MPFR, CLI11, Google Benchmark, Catch2 or
#    libtorch entry in the consumer's CMakeCache.txt);
#  - its default build compiles the library's own sources and the consumer, nothing else.
#   -DSOURCE_DIR=<softlab> -DWORK_DIR=<scratch> -DGENERATOR=... -DCXX=...
file(REMOVE_RECURSE "${WORK_DIR}")
include(${CMAKE_CURRENT_LIST_DIR}/cmake/run_checked.cmake)

# No build type: no optimization flags, the cheapest build that proves the library builds and links
# this way (its optimized builds are the presets' business).
run_checked(${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/subdirectory_consumer" -B "${WORK_DIR}" -G "${GENERATOR}"
    -DCMAKE_CXX_COMPILER=${CXX} "-DSOFTLAB_SOURCE_DIR=${SOURCE_DIR}")

# The cache's entries (NAME:TYPE=VALUE lines; comments are the options' help texts).
file(STRINGS "${WORK_DIR}/CMakeCache.txt" entries REGEX "^[A-Za-z0-9_.+-]+:[A-Z_]+=")
set(looked_up "")
foreach(entry IN LISTS entries)
  string(REGEX REPLACE ":.*" "" name "${entry}")
  string(TOUPPER "${name}" upper)
  if(name MATCHES "^(benchmark|CLI11|Catch2|Torch|Caffe2|dnnl|PkgConfig)_DIR$"
     OR upper MATCHES "MPFR|GMP|XNNPACK|PTHREADPOOL|DNNL|PKG_CONFIG")
    list(APPEND looked_up "${entry}")
  endif()
endforeach()
if(looked_up)
  message(FATAL_ERROR "softlab as a subproject looked up the lab's dependencies: ${looked_up}")
endif()
list(LENGTH entries entry_count)
message(STATUS "CMakeCache.txt: ${entry_count} entries, none of MPFR, GMP, CLI11, Google Benchmark, "
               "Catch2, libtorch, oneDNN, XNNPACK or pkg-config")

# Every compile command of the default build: each must compile a library source or the
# consumer. (In ninja's listing each compile ends with `-c <source>`.)
if(NOT GENERATOR STREQUAL "Ninja")
  message(FATAL_ERROR "subdirectory_consume.cmake reads ninja's command list: use the Ninja generator")
endif()
file(STRINGS "${WORK_DIR}/CMakeCache.txt" make_program REGEX "^CMAKE_MAKE_PROGRAM:")
string(REGEX REPLACE "^[^=]*=" "" make_program "${make_program}")
run_checked(${make_program} -C "${WORK_DIR}" -t commands)
string(REGEX MATCHALL " -c [^\n ]+" compiled "${run_output}")
list(LENGTH compiled count)
if(count EQUAL 0)
  message(FATAL_ERROR "no compile command found in:\n${run_output}")
endif()
foreach(command IN LISTS compiled)
  string(REGEX REPLACE "^ -c " "" source "${command}")
  if(NOT source MATCHES "^${SOURCE_DIR}/impl/src/" AND NOT source MATCHES "/tests/consumer/consumer.cpp$")
    message(FATAL_ERROR "the subproject's default build compiles ${source}, not a library source")
  endif()
endforeach()
message(STATUS "${count} compile commands, every one a library source or the consumer")

run_checked(${CMAKE_COMMAND} --build "${WORK_DIR}")
run_checked("${WORK_DIR}/consumer")
message(STATUS "${run_output}")
