# Warnings are errors on softlab's own code only; dependencies come in as system headers.
function(softlab_warnings target)
  if(SOFTLAB_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror)
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  endif()
endfunction()
