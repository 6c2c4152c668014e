# Runs the OpenAPI contract test (see CMakeLists.txt). Arguments:
#   NODE, NPM   the node and npm programs
#   WORK_DIR    the build folder holding package.json, package-lock.json and validate.mjs
#   SPEC        docs/api/openapi.yaml
#   SERVER      the taskorch-server binary

foreach(arg NODE NPM WORK_DIR SPEC SERVER)
  if(NOT DEFINED ${arg})
    message(FATAL_ERROR "run_contract_test.cmake: ${arg} is not set")
  endif()
endforeach()

include(${CMAKE_CURRENT_LIST_DIR}/../../cmake/npm_ci.cmake)

execute_process(COMMAND ${CMAKE_COMMAND} -E env TASKORCH_SERVER=${SERVER} OPENAPI_SPEC=${SPEC}
                        ${NODE} ${WORK_DIR}/validate.mjs
                WORKING_DIRECTORY ${WORK_DIR}
                RESULT_VARIABLE node_result)
if(NOT node_result EQUAL 0)
  message(FATAL_ERROR "the OpenAPI contract test failed (${node_result})")
endif()
