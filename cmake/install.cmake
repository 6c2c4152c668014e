# Installs taskorch::taskorch, and taskorch::http when the service is built, so that
# find_package(taskorch CONFIG) works.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TASKORCH_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/taskorch)

set(TASKORCH_INSTALLED_TARGETS taskorch)
if(TASKORCH_BUILD_SERVICE)
  list(APPEND TASKORCH_INSTALLED_TARGETS taskorch_http)
endif()
install(TARGETS ${TASKORCH_INSTALLED_TARGETS} EXPORT taskorch-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  FILE_SET HEADERS DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT taskorch-targets NAMESPACE taskorch:: DESTINATION ${TASKORCH_CMAKE_DIR})
export(EXPORT taskorch-targets NAMESPACE taskorch::
  FILE ${PROJECT_BINARY_DIR}/taskorch-targets.cmake)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/taskorch-config.cmake.in
  ${PROJECT_BINARY_DIR}/taskorch-config.cmake INSTALL_DESTINATION ${TASKORCH_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/taskorch-config-version.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/taskorch-config.cmake
              ${PROJECT_BINARY_DIR}/taskorch-config-version.cmake
        DESTINATION ${TASKORCH_CMAKE_DIR})
