# `ibcheck check --jobs N`: claims run in N worker processes, and the table
# is the one the in-process loop (--jobs 1) prints, byte for byte, with the
# same exit status, on stdout and through -o.
# Run as: cmake -DIBCHECK=<path> -DWORKDIR=<dir> -P check_jobs.cmake
if(NOT IBCHECK OR NOT WORKDIR)
  message(FATAL_ERROR "check_jobs.cmake needs -DIBCHECK=<path> and -DWORKDIR=<dir>")
endif()
file(REMOVE_RECURSE "${WORKDIR}")
file(MAKE_DIRECTORY "${WORKDIR}")

# Named out of registry order: the table must come back in registry order.
set(claims extremal-vectors loss-derivative ideal-radius-F)

# run_check(<prefix> <arg>...): stdout, stderr and status into <prefix>_out/_err/_rc.
function(run_check prefix)
  execute_process(COMMAND "${IBCHECK}" check ${claims} --format csv ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(${prefix}_out "${out}" PARENT_SCOPE)
  set(${prefix}_err "${err}" PARENT_SCOPE)
  set(${prefix}_rc "${rc}" PARENT_SCOPE)
endfunction()

run_check(one --jobs 1)
run_check(three --jobs 3)

if(NOT one_rc MATCHES "^[01]$")
  message(FATAL_ERROR "--jobs 1 exited '${one_rc}', expected a verdict (0 or 1); stderr: ${one_err}")
endif()
foreach(c ${claims})
  if(NOT one_out MATCHES "(^|\n)${c},")
    message(FATAL_ERROR "--jobs 1: no row of ${c} in the table:\n${one_out}")
  endif()
endforeach()
if(NOT three_rc STREQUAL one_rc)
  message(FATAL_ERROR "--jobs 3 exited '${three_rc}', --jobs 1 '${one_rc}'; stderr: ${three_err}")
endif()
if(NOT three_out STREQUAL one_out)
  file(WRITE "${WORKDIR}/jobs1.csv" "${one_out}")
  file(WRITE "${WORKDIR}/jobs3.csv" "${three_out}")
  message(FATAL_ERROR "--jobs 3 printed another table than --jobs 1: see ${WORKDIR}/jobs1.csv, jobs3.csv")
endif()
# stderr is not a terminal here: no progress line from the parent or a
# worker, only the closing summary (issue 15 item 8): a header, one line per
# claim whose row count is that claim's rows in the table, and the totals.
foreach(which one three)
  set(e "${${which}_err}")
  string(REGEX REPLACE "\n$" "" e "${e}")
  string(REPLACE "\n" ";" lines "${e}")
  list(FILTER lines EXCLUDE REGEX "^$")
  list(LENGTH lines nl)
  list(LENGTH claims nc)
  math(EXPR want "${nc} + 2")
  if(NOT nl EQUAL want)
    message(FATAL_ERROR "--jobs ${which}: stderr should be the summary only (${want} lines), got:\n${e}")
  endif()
  list(GET lines 0 head)
  if(NOT head MATCHES "^claim +rows +holds +info +finding +REFUTED +time$")
    message(FATAL_ERROR "--jobs ${which}: summary header '${head}'")
  endif()
  foreach(c ${claims})
    string(REGEX MATCHALL "(^|\n)${c}," hits "${one_out}")
    list(LENGTH hits n)
    if(NOT e MATCHES "(^|\n)${c} +${n} +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9.]+ s")
      message(FATAL_ERROR "--jobs ${which}: no summary line '${c}' with ${n} rows:\n${e}")
    endif()
  endforeach()
  if(NOT e MATCHES "\nall +[0-9]+ .* s wall, [0-9]+ jobs?$")
    message(FATAL_ERROR "--jobs ${which}: no totals line:\n${e}")
  endif()
endforeach()
# -q: nothing at all on stderr
run_check(quiet --jobs 1 -q)
if(NOT quiet_err STREQUAL "")
  message(FATAL_ERROR "-q: stderr not empty:\n${quiet_err}")
endif()
message(STATUS "ok: --jobs 3 table and status (${three_rc}) equal --jobs 1's")

# Through -o, with the default number of workers.
run_check(file -o "${WORKDIR}/table.csv")
if(NOT file_rc STREQUAL one_rc OR NOT EXISTS "${WORKDIR}/table.csv")
  message(FATAL_ERROR "-o: exited '${file_rc}' (--jobs 1: '${one_rc}'), file written: see ${WORKDIR}; ${file_err}")
endif()
file(READ "${WORKDIR}/table.csv" written)
if(NOT written STREQUAL one_out)
  message(FATAL_ERROR "-o ${WORKDIR}/table.csv differs from the --jobs 1 table")
endif()
message(STATUS "ok: -o with the default workers writes the --jobs 1 table")
