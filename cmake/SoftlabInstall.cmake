# Install rules: the public headers, the static library, the exported package, the programs.
include(CMakePackageConfigHelpers)

# The public headers only: the vector kernels' own headers (they include xsimd) stay in the
# source tree; the installed ones need nothing the package config does not find.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/impl/softlab DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")
install(TARGETS softlab_library EXPORT softlabTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT softlabTargets NAMESPACE softlab:: FILE softlabTargets.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/softlab)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/softlabConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/softlabConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/softlab)
# Not ARCH_INDEPENDENT: the package carries a compiled x86-64 library.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/softlabConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/softlabConfig.cmake
              ${PROJECT_BINARY_DIR}/softlabConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/softlab)

foreach(program softlab softlab-bench)
  if(TARGET ${program})
    install(TARGETS ${program} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()
