# The accuracy pipeline end to end, as scripts/study runs it, on a small slice: `softlab
# accuracy`, `softlab accuracy --attention`, `softlab blanchard`, then scripts/accuracy_report.
# Checks that the report has its sections and that every plot it links exists. Run by CTest with -DSOFTLAB=<tool>
# -DSOURCE_DIR=<repo> -DWORK_DIR=<scratch directory>.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

include(${CMAKE_CURRENT_LIST_DIR}/../cmake/run_checked.cmake)

run_checked("${SOFTLAB}" accuracy --out "${WORK_DIR}/data" --family uniform_1 --family wide_80
         --family fully_masked --family one_nan --family near_underflow --n 10 --n 1000
         --type float --type double)
# The attention study on its cheapest family (fully masked rows among its rows), float and bf16.
run_checked("${SOFTLAB}" accuracy --attention --out "${WORK_DIR}/data" --family keep_mask --type
         float --type bf16)
run_checked("${SOFTLAB}" blanchard --out "${WORK_DIR}/data" --max-vectors 200 --family-vectors 5)
run_checked("${SOURCE_DIR}/scripts/accuracy_report" --data "${WORK_DIR}/data" --out "${WORK_DIR}")

# The recommendation page (no benchmark run here: it must say so, not fail).
run_checked(/usr/bin/python3 "${SOURCE_DIR}/scripts/lib/index_report.py" --data "${WORK_DIR}/data"
         --out "${WORK_DIR}")
file(READ "${WORK_DIR}/index.md" index)
foreach(claim "For accuracy:" "For safety on masks" "no benchmark run")
  string(FIND "${index}" "${claim}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "report/index.md lacks \"${claim}\"")
  endif()
endforeach()

file(READ "${WORK_DIR}/accuracy.md" report)
foreach(section "## The answer" "## How this was measured" "| wide_80 |" "Blanchard"
                "confirms" "Special values" "## Attention" "| keep_mask |" "### Fully masked rows")
  string(FIND "${report}" "${section}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "report/accuracy.md lacks \"${section}\"")
  endif()
endforeach()
string(REGEX MATCHALL "\\(img/[^)]+\\.png\\)" links "${report}")
list(LENGTH links link_count)
if(link_count LESS 4)
  message(FATAL_ERROR "report/accuracy.md links ${link_count} plots; expected at least 4")
endif()
foreach(link IN LISTS links)
  string(REGEX REPLACE "^\\((.*)\\)$" "\\1" image "${link}")
  if(NOT EXISTS "${WORK_DIR}/${image}")
    message(FATAL_ERROR "report/accuracy.md links ${image}, which was not written")
  endif()
endforeach()
message(STATUS "report with ${link_count} plots: ${WORK_DIR}/accuracy.md")
