# Warnings for our own targets. The options are copied onto each target rather than linked,
# so that nothing about them reaches the exported package.
add_library(taskorch_warnings INTERFACE)
target_compile_options(taskorch_warnings INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                 -Wno-sign-conversion -Wno-missing-field-initializers>)

function(taskorch_use_warnings target)
  target_compile_options(${target} PRIVATE
    $<TARGET_PROPERTY:taskorch_warnings,INTERFACE_COMPILE_OPTIONS>)
endfunction()
