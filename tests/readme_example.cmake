# Checks that README.md shows examples/readme.cpp verbatim, and that the program prints what
# the README says it prints. Inputs: SOURCE_DIR, PROGRAM.
file(READ ${SOURCE_DIR}/README.md readme)
file(READ ${SOURCE_DIR}/examples/readme.cpp program)
string(FIND "${readme}" "```cpp\n${program}```" at)
if(at EQUAL -1)
  message(FATAL_ERROR "README.md no longer shows examples/readme.cpp verbatim: update one")
endif()
execute_process(COMMAND ${PROGRAM} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT out STREQUAL "8d0e8e36-a618-490d-8a46-8c61ac9jb502 success\n")
  message(FATAL_ERROR "README program: exit ${rc}, printed '${out}'")
endif()
