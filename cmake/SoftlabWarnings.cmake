# Warnings are errors on softlab's own code only; dependencies come in as system headers.
function(softlab_warnings target)
  # -Wextra's missing-field-initializers fires on every C++20 designated initializer that
  # leaves a field to its default ({.threads = 2} of softlab::softmax_options), in GCC 12 (GCC
  # bug 96868, fixed in 13) though the fields have default member initializers.
  set(flags -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
  if(SOFTLAB_WARNINGS_AS_ERRORS)
    list(APPEND flags -Werror)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_FLAGS MATCHES "-fsanitize")
    # GCC 12 reports -Wmaybe-uninitialized inside libstdc++'s std::function and std::regex
    # once ASan instruments them (false positives: GCC bugs 105562, 107919); other builds keep it.
    list(APPEND flags -Wno-maybe-uninitialized)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12 at -O3 (the release preset) reports -Wstringop-overflow and -Wrestrict inside
    # libstdc++'s string copy when a std::string concatenation is inlined (false positives: GCC
    # bugs 105329, 105651, fixed in 13): printed, not fatal.
    list(APPEND flags -Wno-error=stringop-overflow -Wno-error=restrict)
  endif()
  target_compile_options(${target} PRIVATE ${flags})
endfunction()
