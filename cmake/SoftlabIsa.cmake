# The x86-64 instruction sets softlab compiles its vector code for, and the one function that
# builds a piece of code once per instruction set.
#
# Each ISA: the compiler flags of its objects, the encodings its objects may contain (the
# baseline none of VEX or EVEX, AVX2 VEX but no EVEX, AVX-512 both) and the tag that every code symbol of a
# non-baseline object must carry (tests/isa/check_isa_object.cmake says why). Adding an
# instruction set is one entry here plus its runtime detection (impl/src/isa.cpp).
set(SOFTLAB_ISAS sse2 avx2 avx512)
set(SOFTLAB_ISA_sse2_FLAGS "")
set(SOFTLAB_ISA_sse2_ENCODINGS legacy)
set(SOFTLAB_ISA_avx2_FLAGS -mavx2 -mfma -mf16c)
set(SOFTLAB_ISA_avx2_ENCODINGS legacy vex)
set(SOFTLAB_ISA_avx512_FLAGS -mavx512f -mavx512bw -mavx512dq -mavx512vl -mfma -mf16c)
set(SOFTLAB_ISA_avx512_ENCODINGS legacy vex evex)
# GCC 12 reports its own AVX-512 extract intrinsics (the _mm256_undefined_pd() pass-through of
# _mm512_extractf64x4_pd, inlined into xsimd's hadd) as uninitialized: GCC bug 105593, fixed in
# 13. The same templates are compiled for SSE2 and AVX2 with the warning on, so nothing of ours
# goes unchecked.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND SOFTLAB_ISA_avx512_FLAGS -Wno-uninitialized -Wno-maybe-uninitialized)
endif()

# softlab_isa_objects(<prefix> SOURCE <file with "ISA" in its name> [LINK <targets>...])
#
# One OBJECT library <prefix>_<isa> per instruction set, compiled from SOURCE with "ISA" in its
# file name replaced by the ISA's name (kernels_ISA.cpp -> kernels_sse2.cpp, kernels_avx2.cpp),
# with that ISA's flags; sets <prefix>_OBJECTS in the caller to all their objects, for
# add_library/add_executable. When tests are built, registers the CTest test
# isa:<prefix>_objects, which disassembles every object and fails on an instruction encoding
# its ISA may not contain or a shared code symbol.
function(softlab_isa_objects prefix)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "SOURCE" "LINK")
  if(NOT arg_SOURCE MATCHES "ISA")
    message(FATAL_ERROR "softlab_isa_objects(${prefix}): SOURCE '${arg_SOURCE}' has no 'ISA'")
  endif()
  set(objects "")
  set(check_arguments "")
  foreach(isa IN LISTS SOFTLAB_ISAS)
    string(REPLACE "ISA" "${isa}" source "${arg_SOURCE}")
    set(target ${prefix}_${isa})
    add_library(${target} OBJECT ${source})
    target_compile_options(${target} PRIVATE ${SOFTLAB_ISA_${isa}_FLAGS})
    target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    target_link_libraries(${target} PRIVATE ${arg_LINK})
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
    softlab_warnings(${target})
    list(APPEND objects $<TARGET_OBJECTS:${target}>)
    string(REPLACE ";" "," encodings "${SOFTLAB_ISA_${isa}_ENCODINGS}")
    list(APPEND check_arguments "${isa}=${encodings}=$<JOIN:$<TARGET_OBJECTS:${target}>,|>")
  endforeach()
  set(${prefix}_OBJECTS ${objects} PARENT_SCOPE)
  # The symbol check needs the optimizer's inlining: at the sanitizers' -O1, clang leaves
  # libstdc++ helpers (std::__copy_m of xsimd's scalar conversions) as weak symbols in every ISA
  # object. The g++ builds (dev, release: what ships) run it.
  if(SOFTLAB_BUILD_TESTS AND NOT CMAKE_CXX_FLAGS MATCHES "-fsanitize")
    list(GET SOFTLAB_ISAS 0 baseline)
    string(REPLACE ";" "^" check_arguments "${check_arguments}")
    add_test(NAME isa:${prefix}_objects
             COMMAND ${CMAKE_COMMAND} -DBASELINE=${baseline} "-DOBJECTS=${check_arguments}"
                     -P ${PROJECT_SOURCE_DIR}/tests/isa/check_isa_object.cmake)
    set_tests_properties(isa:${prefix}_objects PROPERTIES LABELS isa)
  endif()
endfunction()
