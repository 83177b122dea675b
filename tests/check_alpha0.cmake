# The catalogue at alpha = 0 (allowed: alpha >= 0).  With no noise, the
# samples of a center that start on a neuron's inactive side never switch
# on, so the p = 1 statements (class averages) and the instances that need
# every center learned are outside their hypothesis alpha > 0
# (docs/theory.md §6): their rows must say so, as info, not REFUTED (before
# this test: 12 REFUTED rows in `check --alpha 0`).  stable-rank stands for
# them (its p = 1 row measured 2.154 against <= 2.1 at alpha = 0); its
# p = 3 rows must still be judged.
# Needs: exit 0, no REFUTED row, the p = 1 row info with the reason, and at
# least one p = 3 row that holds.
if(NOT IBCHECK)
  message(FATAL_ERROR "check_alpha0.cmake needs -DIBCHECK=<path>")
endif()
include(${CMAKE_CURRENT_LIST_DIR}/check_no_refuted.cmake)
ibc_check_no_refuted(out "alpha = 0" stable-rank --alpha 0)
if(NOT out MATCHES "at the end \\(p = 1\\)[^\n]*alpha = 0, not judged: needs alpha > 0[^\n]*,info,")
  message(FATAL_ERROR "FAIL: the p = 1 row is not info with its reason at alpha = 0:\n${out}")
endif()
if(NOT out MATCHES "\\(p = 3\\)[^\n]*,holds,")
  message(FATAL_ERROR "FAIL: no p = 3 row judged at alpha = 0:\n${out}")
endif()
message(STATUS "ok: stable-rank at alpha = 0: exit 0, no REFUTED row, p = 1 not judged (needs alpha > 0), p = 3 judged")
