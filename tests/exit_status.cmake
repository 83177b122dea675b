# Exit statuses over every command, from one table (issue 16, item 2): 2 for
# bad input or usage (a bad flag value, an unknown option, a missing or bad
# file, an -o path refused before any work), 3 for a numerical or I/O failure
# (a trainer that overflows, a write that fails: -o /dev/full, stdout on
# /dev/full, a results directory that cannot be created).  Every failure
# prints exactly one line on stderr.
# Run as: cmake -DIBCHECK=<path> -DWORKDIR=<dir> -DDATA=<data dir> -P exit_status.cmake
include(${CMAKE_CURRENT_LIST_DIR}/cli_table_setup.cmake)
set(CONFIG "${DATA}/reproduce/small.yaml")
set(MISSING "${WORKDIR}/no-such-dir/out")
set(FULL_FILE "")
if(EXISTS /dev/full)
  set(FULL_FILE /dev/full)
endif()

# command | status | stdout (- or full: /dev/full) | class of failure | arguments
set(rows
  "check|2|-|bad flag value|loss-derivative --format xml"
  "check|2|-|unknown option|--bogus"
  "check|2|-|unknown operand|no-such-claim"
  "check|2|-|-o in a missing directory|loss-derivative -q -o @MISSING@"
  "check|3|-|numerical failure inside a claim (overflow)|stable-rank --lr 1e8 -q"
  "check|3|-|a claim's failure that starts with its id (said once)|escape-time --lr 1e8 -q"
  "check|3|-|-o write fails (ENOSPC)|loss-derivative -q -o /dev/full"
  "check|3|full|stdout write fails (ENOSPC)|loss-derivative -q"
  "check|3|full|--help to a full stdout|--help"
  "compare|2|-|bad flag value|--precisions double,quad"
  "compare|2|-|unknown option|--bogus"
  "compare|2|-|unknown operand|extra"
  "compare|2|-|-o in a missing directory|-q -o @MISSING@"
  "compare|3|-|numerical failure (overflow)|--n 20 --h 4 --steps 50 --lr 2e4 -q"
  "compare|3|-|-o write fails (ENOSPC)|--n 20 --h 4 --steps 10 -q -o /dev/full"
  "compare|3|full|stdout write fails (ENOSPC)|--n 20 --h 4 --steps 10 -q"
  "info|2|-|missing operand|"
  "info|2|-|unknown option|--bogus @NET@"
  "info|2|-|missing input file|@MISSING@"
  "info|3|full|stdout write fails (ENOSPC)|@NET@"
  "info|3|full|--help to a full stdout|--help"
  "reproduce|2|-|bad flag value|--scale 0 @CONFIG@"
  "reproduce|2|-|unknown option|--bogus @CONFIG@"
  "reproduce|2|-|missing input file|@MISSING@"
  "reproduce|3|-|results directory cannot be created|-o /dev/full/x @CONFIG@"
  "reproduce|3|full|--help to a full stdout|--help"
  "train|2|-|bad flag value|${SMALL} -q --lr nan -o @WORK@/t.json"
  "train|2|-|unknown option|--bogus"
  "train|2|-|missing -o|${SMALL} -q"
  "train|2|-|-o in a missing directory|${SMALL} -q -o @MISSING@"
  "train|3|-|numerical failure (overflow)|--D 6 --K 4 --K1 2 --n 40 --h 8 -q --lr 2e4 --steps 1000 -o @WORK@/f.json"
  "train|3|-|-o write fails (ENOSPC)|${SMALL} -q -o /dev/full"
  "train|3|full|-o - on a full stdout|${SMALL} -q -o -"
  "train|3|full|--help to a full stdout|--help"
  "radius|2|-|bad flag value|--ideal G --D 6 --K 4 --K1 2 --center 0"
  "radius|2|-|unknown option|--bogus"
  "radius|2|-|missing input file|@MISSING@ --center 0"
  "radius|2|-|-o in a missing directory|${IDEAL} -q -o @MISSING@"
  "radius|3|-|-o write fails (ENOSPC)|${IDEAL} -q -o /dev/full"
  "radius|3|full|stdout write fails (ENOSPC)|${IDEAL} -q"
  "attack|2|-|bad flag value|${IDEAL} -q --method bogus"
  "attack|2|-|unknown option|--bogus"
  "attack|2|-|missing input file|@MISSING@ --center 0"
  "attack|2|-|-o in a missing directory|${IDEAL} -q -o @MISSING@"
  "attack|3|-|-o write fails (ENOSPC)|${IDEAL} -q -o /dev/full"
  "attack|3|full|stdout write fails (ENOSPC)|${IDEAL} -q"
)

set(failures 0)
set(seen "")
foreach(row IN LISTS rows)
  string(REPLACE "|" ";" f "${row}")
  list(LENGTH f nf)
  list(GET f 0 cmd)
  list(GET f 1 want)
  list(GET f 2 out)
  list(GET f 3 label)
  set(argstr "")
  if(nf GREATER 4)
    list(GET f 4 argstr)
  endif()
  list(APPEND seen ${cmd})
  if((out STREQUAL "full" OR argstr MATCHES "/dev/full") AND NOT FULL_FILE)
    message(STATUS "skip: ${cmd}: ${label} (no /dev/full here)")
    continue()
  endif()
  string(REPLACE "@NET@" "${NET}" argstr "${argstr}")
  string(REPLACE "@MISSING@" "${MISSING}" argstr "${argstr}")
  string(REPLACE "@CONFIG@" "${CONFIG}" argstr "${argstr}")
  string(REPLACE "@WORK@" "${WORKDIR}" argstr "${argstr}")
  separate_arguments(args UNIX_COMMAND "${argstr}")
  if(out STREQUAL "full")
    execute_process(COMMAND "${IBCHECK}" ${cmd} ${args} WORKING_DIRECTORY "${WORKDIR}"
                    RESULT_VARIABLE rc OUTPUT_FILE /dev/full ERROR_VARIABLE err TIMEOUT 60)
  else()
    execute_process(COMMAND "${IBCHECK}" ${cmd} ${args} WORKING_DIRECTORY "${WORKDIR}"
                    RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err TIMEOUT 60)
  endif()
  string(STRIP "${err}" e)
  string(REGEX MATCHALL "\n" nl "${e}")
  list(LENGTH nl extra)
  # The line names who failed once: not "ibcheck: escape-time: escape-time: ...".
  set(twice 0)
  if(e MATCHES "^ibcheck: ([^:]+): ([^:]+):" AND CMAKE_MATCH_1 STREQUAL CMAKE_MATCH_2)
    set(twice 1)
  endif()
  if(NOT rc STREQUAL want OR e STREQUAL "" OR extra GREATER 0)
    message(SEND_ERROR "FAIL ${cmd}: ${label}: exit ${rc} (need ${want}, one stderr line), stderr:\n${err}")
    math(EXPR failures "${failures} + 1")
  elseif(twice)
    message(SEND_ERROR "FAIL ${cmd}: ${label}: the line names '${CMAKE_MATCH_1}' twice: ${e}")
    math(EXPR failures "${failures} + 1")
  else()
    message(STATUS "ok: ${cmd}: ${label}: exit ${rc}: ${e}")
  endif()
endforeach()

# A claim that fails does not hide the others: without -q the summary still
# comes, the failed claim marked, the others' rows counted (exit 3).
execute_process(COMMAND "${IBCHECK}" check stable-rank loss-derivative --lr 1e8 WORKING_DIRECTORY "${WORKDIR}"
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err TIMEOUT 60)
if(NOT rc EQUAL 3 OR NOT err MATCHES "\nstable-rank +0 [^\n]*<- FAILED" OR NOT err MATCHES "\nloss-derivative +[1-9]")
  message(SEND_ERROR "FAIL check: a failed claim in the summary: exit ${rc}, stderr:\n${err}")
  math(EXPR failures "${failures} + 1")
else()
  message(STATUS "ok: check: a failed claim is marked in the summary, the others counted: exit ${rc}")
endif()

# Every command is in the table.
foreach(cmd check compare info reproduce train radius attack)
  if(NOT cmd IN_LIST seen)
    message(SEND_ERROR "FAIL: command ${cmd} has no row in the table")
    math(EXPR failures "${failures} + 1")
  endif()
endforeach()
if(failures GREATER 0)
  message(FATAL_ERROR "${failures} rows failed")
endif()
