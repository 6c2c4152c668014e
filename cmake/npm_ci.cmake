# Installs the npm packages of a test's build folder with `npm ci` (from its package-lock.json),
# unless they are installed already from the same lock. Run with -P, or include()d by another
# -P script. Arguments:
#   NPM        the npm program
#   WORK_DIR   the build folder holding package.json and package-lock.json

foreach(arg NPM WORK_DIR)
  if(NOT DEFINED ${arg})
    message(FATAL_ERROR "npm_ci.cmake: ${arg} is not set")
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
