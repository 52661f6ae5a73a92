# Installs the build tree into a fresh prefix, then configures, builds and runs the consumer
# project against it, as a packager and a downstream user would.
#   -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DGENERATOR=... -DCXX=...
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
include(${CMAKE_CURRENT_LIST_DIR}/cmake/run_checked.cmake)
run_checked(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
foreach(installed include/softlab/softlab.hpp bin/softlab lib/cmake/softlab/softlabConfig.cmake)
  if(NOT EXISTS "${prefix}/${installed}")
    message(FATAL_ERROR "not installed: ${installed}")
  endif()
endforeach()
# Only public headers: none of the installed ones may include a library the package config does
# not look for (xsimd is the vector kernels' own dependency, and on this machine it would be
# found in /usr/include anyway, so the consumer's compile alone would not notice).
file(GLOB_RECURSE installed_headers "${prefix}/include/softlab/*.hpp")
foreach(header IN LISTS installed_headers)
  file(STRINGS "${header}" private_includes REGEX "^#include <(xsimd/|[a-z]*intrin\\.h)")
  if(private_includes)
    message(FATAL_ERROR "installed header ${header} includes ${private_includes}: not a public header")
  endif()
endforeach()
list(LENGTH installed_headers installed_count)
message(STATUS "${installed_count} installed headers, none including xsimd or intrinsics")

run_checked(${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/consumer" -B "${WORK_DIR}/build" -G "${GENERATOR}"
    -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=${prefix}")
run_checked(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run_checked("${WORK_DIR}/build/consumer")
message(STATUS "${run_output}")
run_checked("${prefix}/bin/softlab" list)
