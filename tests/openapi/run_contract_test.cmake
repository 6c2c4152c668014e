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

# npm writes node_modules/.package-lock.json after a successful install: reinstall when it is
# missing or older than the lock file.
set(installed ${WORK_DIR}/node_modules/.package-lock.json)
if(NOT EXISTS ${installed} OR ${WORK_DIR}/package-lock.json IS_NEWER_THAN ${installed})
  message(STATUS "npm ci in ${WORK_DIR}")
  execute_process(COMMAND ${NPM} ci --no-audit --no-fund
                  WORKING_DIRECTORY ${WORK_DIR}
                  RESULT_VARIABLE npm_result)
  if(NOT npm_result EQUAL 0)
    message(FATAL_ERROR "npm ci failed (${npm_result}); the npm registry must be reachable "
                        "the first time, or node_modules must be provided in ${WORK_DIR}")
  endif()
endif()

execute_process(COMMAND ${CMAKE_COMMAND} -E env TASKORCH_SERVER=${SERVER} OPENAPI_SPEC=${SPEC}
                        ${NODE} ${WORK_DIR}/validate.mjs
                WORKING_DIRECTORY ${WORK_DIR}
                RESULT_VARIABLE node_result)
if(NOT node_result EQUAL 0)
  message(FATAL_ERROR "the OpenAPI contract test failed (${node_result})")
endif()
