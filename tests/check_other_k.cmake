# The early-phase claims away from the defaults (K = 6, K1 = 3): both once
# failed there for reasons of their own making, not of the lemmas.
#  - early-norm, direction-approx: exit 3, "early phase: 67 records of 68
#    requested": the last grid time T * k / (GRID - 1) rounded above T = t_end.
#  - direction-approx: its central-difference row REFUTED (0.0095 against a
#    bound of 8.2e-7): a probe whose three records share one sign pattern
#    had switching events between them.
# Needs: exit 0, every row holds or is info, and the central-difference row
# judged on at least one probe.
if(NOT IBCHECK)
  message(FATAL_ERROR "check_other_k.cmake needs -DIBCHECK=<path>")
endif()
include(${CMAKE_CURRENT_LIST_DIR}/check_no_refuted.cmake)
ibc_check_no_refuted(out "K = 6" early-norm direction-approx --K 6 --K1 3)
if(NOT out MATCHES "central diff[^\n]*\\(([1-9][0-9]*) probes, [0-9]+ skipped\\)[^\n]*holds")
  message(FATAL_ERROR "FAIL: no central-difference row judged on a probe:\n${out}")
endif()
set(probes "${CMAKE_MATCH_1}")
string(REGEX MATCHALL "\n" lines "${out}")
list(LENGTH lines n)
message(STATUS "ok: early-norm and direction-approx at K = 6, K1 = 3: exit 0, ${n} lines, no REFUTED row, central differences on ${probes} probes")
