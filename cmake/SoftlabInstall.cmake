# Install rules: headers, the static library, the exported package, the tool.
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/impl/softlab DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")
install(TARGETS softlab EXPORT softlabTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
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

if(SOFTLAB_BUILD_TOOLS)
  install(TARGETS softlab_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
