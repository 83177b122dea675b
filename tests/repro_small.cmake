# `ibcheck reproduce` on the shipped small configuration (issue "Reproduce"):
#  1. the run writes results.json/csv, the panels' CSV files and the figure;
#  2. the paper's qualitative result shows in robust.csv: at eps = 0.6 the
#     ReLU network (p = 1) is broken by the attack while p = 3 is certified;
#  3. resume: with one finished cell removed, a rerun recomputes only that
#     cell, and the numbers are bitwise identical (distance.csv).
# Run as: cmake -DIBCHECK=<path> -DCONFIG=<small.yaml> -DWORKDIR=<dir> -DSERIAL=<the fixture's run> -P repro_small.cmake
file(REMOVE_RECURSE "${WORKDIR}")
file(MAKE_DIRECTORY "${WORKDIR}")

function(run_ok)
  execute_process(COMMAND "${IBCHECK}" ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc STREQUAL "0")
    message(FATAL_ERROR "`ibcheck ${ARGN}` exited ${rc}:\n${out}\n${err}")
  endif()
  set(last_err "${err}" PARENT_SCOPE)
endfunction()

# The full run is the fixture's (fixture.repro-serial, -DSERIAL): read only.
set(D "${SERIAL}")
foreach(f results.json results.csv distance.csv contrib.csv cos_p1.csv cos_p3.csv robust.csv figure.png figure.svg figure.gp)
  if(NOT EXISTS "${D}/${f}")
    message(FATAL_ERROR "reproduce did not write ${f}")
  endif()
endforeach()
file(READ "${D}/figure.png" sig LIMIT 4 HEX)
if(NOT sig STREQUAL "89504e47")
  message(FATAL_ERROR "figure.png is not a PNG (starts with ${sig})")
endif()
message(STATUS "ok: results, CSV files and figure written")

# robust.csv: p,eps,pgd,attack,cert.  Pick the row at eps = 0.6 for each p.
file(STRINGS "${D}/robust.csv" rows)
set(att1 "")
set(cert3 "")
foreach(r ${rows})
  if(r MATCHES "^1,0[.](6|59999)[0-9]*,([^,]*),([^,]*),([^,]*)$")
    set(att1 ${CMAKE_MATCH_3})
  elseif(r MATCHES "^3,0[.](6|59999)[0-9]*,([^,]*),([^,]*),([^,]*)$")
    set(cert3 ${CMAKE_MATCH_4})
  endif()
endforeach()
if(att1 STREQUAL "" OR cert3 STREQUAL "")
  message(FATAL_ERROR "robust.csv has no eps = 0.6 rows for p = 1 and p = 3:\n${rows}")
endif()
execute_process(COMMAND awk "BEGIN { exit !(${att1} <= 0.1 && ${cert3} >= 0.8) }" RESULT_VARIABLE bad)
if(NOT bad STREQUAL "0")
  message(FATAL_ERROR "at eps = 0.6: p = 1 attack accuracy ${att1} (need <= 0.1), p = 3 certified ${cert3} (need >= 0.8)")
endif()
message(STATUS "ok: at eps = 0.6, p = 1 attack accuracy ${att1}, p = 3 certified accuracy ${cert3}")

# Resume on a scaled-down run.
set(S "${WORKDIR}/scaled")
run_ok(reproduce "${CONFIG}" --scale 5 -o "${S}")
file(READ "${S}/distance.csv" before)
file(GLOB cells "${S}/cells/*.json")
list(LENGTH cells ncells)
list(GET cells 1 victim)
file(REMOVE "${victim}")
run_ok(reproduce "${CONFIG}" --scale 5 -o "${S}")
if(NOT last_err MATCHES "1 cells computed, ([0-9]+) reused")
  message(FATAL_ERROR "rerun after removing one cell did not recompute exactly one:\n${last_err}")
endif()
file(READ "${S}/distance.csv" after)
if(NOT before STREQUAL after)
  message(FATAL_ERROR "resumed run differs from the uninterrupted one:\n${before}\n---\n${after}")
endif()
message(STATUS "ok: resume recomputed 1 of ${ncells} cells, distance.csv bitwise identical")

# Another configuration into the same directory is refused.
execute_process(COMMAND "${IBCHECK}" reproduce "${CONFIG}" --scale 4 -o "${S}" RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc STREQUAL "2" OR NOT err MATCHES "another configuration")
  message(FATAL_ERROR "a different configuration in the same directory was not refused (${rc}): ${err}")
endif()
message(STATUS "ok: a directory holds one configuration")
