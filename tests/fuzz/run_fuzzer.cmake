# Runs a libFuzzer binary for SECONDS on a fresh copy of the seed corpus SEEDS in WORK_DIR
# (cmake -DFUZZER=... -DSEEDS=... -DWORK_DIR=... -DSECONDS=... -P run_fuzzer.cmake). Fails
# when the fuzzer finds a crash, a sanitizer report or a contract violation (the input is then
# WORK_DIR/crash-*, printed by libFuzzer; rerun it with `FUZZER WORK_DIR/crash-...`).
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/corpus)
file(GLOB seeds ${SEEDS}/*)
file(COPY ${seeds} DESTINATION ${WORK_DIR}/corpus)
execute_process(COMMAND ${FUZZER} ${WORK_DIR}/corpus -max_total_time=${SECONDS} -timeout=20
                        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=${WORK_DIR}/
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${FUZZER} failed (status ${status}): see the input it saved in ${WORK_DIR}")
endif()
