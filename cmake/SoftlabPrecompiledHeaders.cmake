# Precompiled headers for softlab's own multi-file targets.
#
# The tool's, the study's, the benchmarks' and the tests' translation units all include the
# registry (softlab/types.hpp's bin50 and bin100 bring in Boost.Multiprecision), and most of them
# the MPFR reference, Catch2's single header or CLI11: parsing those took 10 to 25 s of each
# translation unit's 20 to 50 s with g++ 12 here. Parsed once per target instead (a target of
# several files; the library's own files are dominated by instantiating its kernels, and get
# none), they stop dominating the build and CI's time.
#
# On by default only when softlab is the top-level project: as a subproject the library builds
# exactly its own sources. Off, every translation unit still compiles (each includes what it
# uses; the installed headers are compiled one by one, without these, by tests/consumer).
option(SOFTLAB_PRECOMPILED_HEADERS "Precompile the heavy headers of softlab's own targets"
       ${PROJECT_IS_TOP_LEVEL})

# softlab_precompile_headers(target header...): headers as written in an #include, <...>.
function(softlab_precompile_headers target)
  if(SOFTLAB_PRECOMPILED_HEADERS)
    target_precompile_headers(${target} PRIVATE ${ARGN})
  endif()
endfunction()
