# Shared by the tests that run `ibcheck check` away from the defaults
# (check_other_k.cmake, check_alpha0.cmake): runs IBCHECK check ARGN as csv,
# fails the test unless it exits 0 with no REFUTED row, and puts the table
# in OUT_VAR.  WHERE names the setting in the failure messages.
function(ibc_check_no_refuted out_var where)
  execute_process(COMMAND "${IBCHECK}" check ${ARGN} --format csv -q
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
  string(REPLACE ";" " " words "${ARGN}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "FAIL: check ${words}: exit ${rc}: ${err}")
  endif()
  string(REGEX MATCHALL "[^\n]*REFUTED[^\n]*" bad "${out}")
  if(bad)
    message(FATAL_ERROR "FAIL: REFUTED rows at ${where}:\n${bad}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()
