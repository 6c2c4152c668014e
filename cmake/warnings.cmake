# Warnings for our own targets, from one interface target. Executables link it. Libraries,
# which are exported (install and build tree), take a copy of its options instead: a link,
# even a private one, would make the export require the warnings target, which is not part of
# the package (CMake 3.25 has no $<BUILD_LOCAL_INTERFACE>).
add_library(taskorch_warnings INTERFACE)
target_compile_options(taskorch_warnings INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                 -Wno-sign-conversion -Wno-missing-field-initializers>)

function(taskorch_use_warnings target)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE")
    target_link_libraries(${target} PRIVATE taskorch_warnings)
  else()
    target_compile_options(${target} PRIVATE
      $<TARGET_PROPERTY:taskorch_warnings,INTERFACE_COMPILE_OPTIONS>)
  endif()
endfunction()
