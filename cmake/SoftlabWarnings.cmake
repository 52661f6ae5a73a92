# Warnings are errors on softlab's own code only; dependencies come in as system headers.
function(softlab_warnings target)
  set(flags -Wall -Wextra -Wpedantic)
  if(SOFTLAB_WARNINGS_AS_ERRORS)
    list(APPEND flags -Werror)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_FLAGS MATCHES "-fsanitize")
    # GCC 12 reports -Wmaybe-uninitialized inside libstdc++'s std::function and std::regex
    # once ASan instruments them (false positives: GCC bugs 105562, 107919); other builds keep it.
    list(APPEND flags -Wno-maybe-uninitialized)
  endif()
  target_compile_options(${target} PRIVATE ${flags})
endfunction()
