# `ibcheck radius` and `ibcheck attack` on known answers (issue "Robustness"):
#  - F^(3) at a center: the bracket contains sqrt2/2 = 0.7071068 (docs/theory.md §4);
#  - F at a center of K = 10: the bracket contains 1/sqrt K = 0.3162278;
#  - a misclassified point answers radius 0 with the reason, exit 0;
#  - attack on a saved network writes a JSON perturbation whose flip it verified.
# Run as: cmake -DIBCHECK=<path> -DWORKDIR=<dir> -P cli_robust.cmake
file(REMOVE_RECURSE "${WORKDIR}")
file(MAKE_DIRECTORY "${WORKDIR}")

function(run_ok out_var)
  execute_process(COMMAND "${IBCHECK}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc STREQUAL "0")
    message(FATAL_ERROR "`ibcheck ${ARGN}` exited ${rc}: ${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

# bracket_contains(<output> <value>): the printed bracket [lo, hi] holds value.
function(bracket_contains out value label)
  if(NOT out MATCHES "bracket: \\[([0-9.]+), ([0-9.]+)\\]")
    message(FATAL_ERROR "${label}: no bracket in output:\n${out}")
  endif()
  set(lo ${CMAKE_MATCH_1})
  set(hi ${CMAKE_MATCH_2})
  # CMake cannot compare decimals numerically: awk does.
  execute_process(COMMAND awk "BEGIN { exit !(${lo} <= ${value} && ${value} <= ${hi}) }" RESULT_VARIABLE nok)
  if(NOT nok STREQUAL "0")
    message(FATAL_ERROR "${label}: bracket [${lo}, ${hi}] does not contain ${value}")
  endif()
  message(STATUS "ok: ${label}: [${lo}, ${hi}] contains ${value}")
endfunction()

run_ok(out radius --ideal Fp --p 3 --center 0 --steps 300)
bracket_contains("${out}" 0.7071068 "F^(3) at mu_0")
run_ok(out radius --ideal F --center 7 --steps 300)
bracket_contains("${out}" 0.3162278 "F at mu_7")

run_ok(out radius --ideal F --D 3 --K 2 --K1 1 --x 0,1,0 --y 1)
if(NOT out MATCHES "radius: 0 \\(the point is misclassified")
  message(FATAL_ERROR "misclassified point: expected radius 0 with its reason, got:\n${out}")
endif()
message(STATUS "ok: misclassified point answers 0")

set(NET "${WORKDIR}/net.json")
run_ok(out train --D 6 --K 4 --K1 2 --n 40 --h 8 --steps 2000 --p 3 -q -o "${NET}")
run_ok(out attack "${NET}" --center 0 --steps 200 -o "${WORKDIR}/delta.json")
file(READ "${WORKDIR}/delta.json" js)
if(NOT js MATCHES "\"flipped\":[ \t]*true" OR NOT js MATCHES "\"delta\"")
  message(FATAL_ERROR "attack on a saved network: no verified flip written:\n${out}\n${js}")
endif()
run_ok(out radius "${NET}" --test 3 --steps 200)
if(NOT out MATCHES "bracket: \\[" AND NOT out MATCHES "radius: 0")
  message(FATAL_ERROR "radius on a saved network printed no bracket:\n${out}")
endif()
message(STATUS "ok: attack and radius on a saved network")
