# run_checked(<command> [args...]): runs a command from a CTest script (cmake -P) and stops the
# test with the command, its exit status and both outputs when it fails. Its standard output is
# left in run_output in the caller's scope.
function(run_checked)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "failed (${status}): ${ARGN}\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()
