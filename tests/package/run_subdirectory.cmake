# Configures, builds and runs tests/package/subdirectory, which adds this source tree with
# add_subdirectory(). Inputs: SOURCE_DIR, WORK_DIR, CXX_COMPILER, CXX_FLAGS, LINKER_FLAGS,
# GENERATOR.
file(REMOVE_RECURSE ${WORK_DIR})

function(run_step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGN}")
  endif()
endfunction()

run_step(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/subdirectory -B ${WORK_DIR}
         -G ${GENERATOR} -DTASKORCH_SOURCE_DIR=${SOURCE_DIR} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
         "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}" "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}")
run_step(${CMAKE_COMMAND} --build ${WORK_DIR})
run_step(${WORK_DIR}/consumer)
