# OpenMP for the rows of softmax_rows, always on GCC's runtime, libgomp (part of GCC: Debian's
# libgcc-12-dev), with g++ and with clang++.
#
# libtorch and oneDNN, which share processes with softlab, are built with g++ and run on libgomp;
# LLVM's runtime (libomp, what clang++'s -fopenmp and find_package(OpenMP) pick with clang) in
# the same process would be a second pool of threads competing with the first. So not
# find_package(OpenMP), but each compiler's own way to name libgomp:
#  - g++: -fopenmp to compile the region (impl/src/threads.cpp) and to link (-lgomp);
#  - clang++: -fopenmp=libgomp to link. Clang compiles no OpenMP construct for libgomp (its code
#    generator targets libomp only; -fopenmp=libgomp just links), so threads.cpp, compiled
#    without the flag, starts its region through libgomp's own entry point.
# The link flag is an interface link option of the library, as a generator expression: in the
# exported package it is evaluated with the consumer's compiler, so a program built by either
# gets libgomp, and nothing has to be found (the compiler driver knows where its libgomp is).
#
# softlab_openmp_source(<source>): compiles <source> as the library's OpenMP region.
# SOFTLAB_OPENMP_LINK_OPTIONS: the link options for whatever links the library.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "^(GNU|Clang)$")
  message(FATAL_ERROR "softlab runs rows across threads on GCC's OpenMP runtime (libgomp), "
                      "which g++ and clang++ can name; ${CMAKE_CXX_COMPILER_ID} is not supported")
endif()

function(softlab_openmp_source source)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    set_property(SOURCE ${source} APPEND PROPERTY COMPILE_OPTIONS -fopenmp)
  endif()
endfunction()

set(SOFTLAB_OPENMP_LINK_OPTIONS
    "$<$<CXX_COMPILER_ID:GNU>:-fopenmp>" "$<$<CXX_COMPILER_ID:Clang>:-fopenmp=libgomp>")
