# Runs taskorch-state-doc and fails when docs/state-machine.md or docs/state-machine.dot differ
# from what it prints. Inputs: TOOL (the executable), DOCS_DIR (docs/), WORK_DIR (scratch).
foreach(var TOOL DOCS_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_state_doc.cmake: ${var} is not set")
  endif()
endforeach()

find_program(DIFF_PROGRAM diff)
set(stale "")
foreach(pair "markdown;state-machine.md" "dot;state-machine.dot")
  list(GET pair 0 format)
  list(GET pair 1 file)
  set(expected ${WORK_DIR}/${file})
  execute_process(COMMAND ${TOOL} --${format} OUTPUT_FILE ${expected} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "taskorch-state-doc --${format} failed (exit ${rc})")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${DOCS_DIR}/${file} ${expected}
                  RESULT_VARIABLE differs OUTPUT_QUIET ERROR_QUIET)
  if(NOT differs EQUAL 0)
    list(APPEND stale docs/${file})
    if(DIFF_PROGRAM AND EXISTS ${DOCS_DIR}/${file})
      execute_process(COMMAND ${DIFF_PROGRAM} -u ${DOCS_DIR}/${file} ${expected})
    endif()
  endif()
endforeach()

if(stale)
  list(JOIN stale " and " names)
  message(FATAL_ERROR
          "Out of date: ${names} (in any diff above, '-' is committed, '+' expected). "
          "These files are generated from the transition table "
          "(include/taskorch/transition_table.hpp) by taskorch-state-doc: run "
          "scripts/update-state-doc.sh and commit the result.")
endif()
