# The fixture fixture.repro-serial: `ibcheck reproduce CONFIG -o OUT` into an
# emptied OUT (no cell of an earlier build may be reused), serially.
# Run as: cmake -DIBCHECK=<path> -DCONFIG=<small.yaml> -DOUT=<dir> -P repro_serial.cmake
file(REMOVE_RECURSE "${OUT}")
execute_process(COMMAND "${IBCHECK}" reproduce "${CONFIG}" -o "${OUT}" -q RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "`ibcheck reproduce ${CONFIG} -o ${OUT}` exited ${rc}:\n${err}")
endif()
message(STATUS "ok: the serial run of ${CONFIG} in ${OUT}")
