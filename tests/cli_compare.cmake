# `ibcheck compare` on a small known answer: double against mpfr:53 (equal
# bits, the same data and initialization) differ by rounding order alone, so
# the ulps-per-step rows at steps 1 and 10 must be present and hold, as must
# the step-0 agreement row; the CSV written with -o must hold the same rows.
# A repeated mode is refused (exit 2, nothing written).
# Run as: cmake -DIBCHECK=<path> -DWORKDIR=<dir> -P cli_compare.cmake
file(REMOVE_RECURSE "${WORKDIR}")
file(MAKE_DIRECTORY "${WORKDIR}")
set(args compare --precisions double,mpfr:53 --n 50 --h 10 --steps 50 -q)

execute_process(COMMAND "${IBCHECK}" ${args} --format csv RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "`ibcheck ${args}` exited ${rc}: ${err}\n${out}")
endif()
# check_table(<csv text> <label>): the ulps rows at steps 1 and 10 and the
# step-0 row are there and hold; nothing is refuted.
function(check_table out label)
  foreach(step 1 10)
    if(NOT out MATCHES "ulps of [^\n]* per step, step ${step}\"?,[^\n]*double vs mpfr:53,[^\n]*,holds,")
      message(FATAL_ERROR "${label}: no holding ulps/step row at step ${step} in:\n${out}")
    endif()
  endforeach()
  if(NOT out MATCHES "step 0 \\(t=0\\)\"?,[^\n]*double vs mpfr:53,[^\n]*,holds,")
    message(FATAL_ERROR "${label}: no holding step-0 agreement row in:\n${out}")
  endif()
  if(out MATCHES "REFUTED")
    message(FATAL_ERROR "${label}: a refuted row in:\n${out}")
  endif()
  message(STATUS "ok: ${label}: double vs mpfr:53 ulps/step rows hold")
endfunction()
check_table("${out}" "stdout")

# -o FILE.csv: the table in CSV from the extension (training times aside, the same rows).
execute_process(COMMAND "${IBCHECK}" ${args} -o "${WORKDIR}/t.csv" RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc STREQUAL "0" OR NOT EXISTS "${WORKDIR}/t.csv")
  message(FATAL_ERROR "-o t.csv: exit ${rc}, no file: ${err}")
endif()
file(READ "${WORKDIR}/t.csv" csv)
check_table("${csv}" "-o t.csv")

execute_process(COMMAND "${IBCHECK}" compare --precisions mpfr:113,mpfr:113 --n 50 --h 10 --steps 50 -o "${WORKDIR}/d.md"
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
if(NOT rc STREQUAL "2" OR NOT err MATCHES "mpfr:113 twice" OR EXISTS "${WORKDIR}/d.md")
  message(FATAL_ERROR "duplicate mode: exit ${rc}, stderr '${err}', file written: expected exit 2, one line, no file")
endif()
message(STATUS "ok: a duplicate mode is refused")
