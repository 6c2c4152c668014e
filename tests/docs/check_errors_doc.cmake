# Runs taskorch-errors-doc and fails when docs/errors.md differs from what it prints.
# Inputs: TOOL (the executable), DOC (docs/errors.md), WORK_DIR (scratch).
foreach(var TOOL DOC WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_errors_doc.cmake: ${var} is not set")
  endif()
endforeach()

set(expected ${WORK_DIR}/errors.md)
execute_process(COMMAND ${TOOL} OUTPUT_FILE ${expected} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "taskorch-errors-doc failed (exit ${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${DOC} ${expected}
                RESULT_VARIABLE differs OUTPUT_QUIET ERROR_QUIET)
if(NOT differs EQUAL 0)
  find_program(DIFF_PROGRAM diff)
  if(DIFF_PROGRAM AND EXISTS ${DOC})
    execute_process(COMMAND ${DIFF_PROGRAM} -u ${DOC} ${expected})
  endif()
  message(FATAL_ERROR
          "Out of date: docs/errors.md (in any diff above, '-' is committed, '+' expected). It is "
          "generated from taskorch::errc_table (include/taskorch/error.hpp) and the tables of "
          "include/taskorch/http/error_table.hpp by taskorch-errors-doc (tools/errors_doc.cpp): "
          "run scripts/update-errors-doc.sh and commit the result.")
endif()
