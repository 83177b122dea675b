# The common options over every command, from one table (issue 16, item 3):
# -q/--quiet and --help everywhere; -o, --format and --jobs where they apply.
# For each command: its --help lists exactly the common options of its row;
# -q and --quiet are accepted (before --help, so that nothing runs); an
# option that does not apply is refused as unknown (exit 2); where -o writes
# one file, -o - writes it to stdout; a bad --format or --jobs value is
# refused in the same words by every command that takes it.
# Run as: cmake -DIBCHECK=<path> -DWORKDIR=<dir> -P common_options.cmake
include(${CMAKE_CURRENT_LIST_DIR}/cli_table_setup.cmake)

# command | common options besides -q and --help | arguments of a quick run with -o - (empty: -o is
# not one file) | what stdout then holds
set(rows
  "check|output format jobs|loss-derivative -q -o - --format csv|^claim,quantity,"
  "compare|output format|--precisions double,mpfr:53 --n 20 --h 4 --steps 5 -q -o - --format csv|^claim,quantity,"
  "info|||"
  "reproduce|output||"
  "train|output|${SMALL} -q -o -|\"format\":[ \t]*\"ibcheck-net\""
  "radius|output|${IDEAL} -q -o -|^{[ \t\n]*\"classifier\""
  "attack|output|${IDEAL} -q -o -|^{[ \t\n]*\"classifier\""
)
# option name | how --help shows it | a bad value and the line it must give (empty: no value)
set(opt_output "-o, --output")
set(opt_format "    --format")
set(opt_jobs "-j, --jobs")
set(bad_format "--format;xml;--format = xml is not allowed: need one of md, csv, tex, json")
set(bad_jobs "--jobs;0;--jobs = 0 is out of range: need an integer 1 <= N <= 64")

set(failures 0)
macro(fail msg)
  message(SEND_ERROR "FAIL ${msg}")
  math(EXPR failures "${failures} + 1")
endmacro()

set(seen "")
foreach(row IN LISTS rows)
  string(REPLACE "|" ";" f "${row}")
  list(GET f 0 cmd)
  list(GET f 1 opts)
  list(GET f 2 runargs)
  list(GET f 3 want)
  list(APPEND seen ${cmd})
  separate_arguments(opts UNIX_COMMAND "${opts}")

  # --help lists -q, --help and exactly the common options of the row.
  execute_process(COMMAND "${IBCHECK}" ${cmd} --help RESULT_VARIABLE rc OUTPUT_VARIABLE help ERROR_VARIABLE err)
  if(NOT rc STREQUAL "0")
    fail("${cmd} --help: exit ${rc}: ${err}")
  endif()
  foreach(o "-q, --quiet" "    --help")
    string(FIND "${help}" "${o}" at)
    if(at LESS 0)
      fail("${cmd} --help does not list '${o}'")
    endif()
  endforeach()
  foreach(o output format jobs)
    string(FIND "${help}" "${opt_${o}} " at)
    if(o IN_LIST opts AND at LESS 0)
      fail("${cmd} --help does not list '${opt_${o}}'")
    elseif(NOT o IN_LIST opts AND at GREATER_EQUAL 0)
      fail("${cmd} --help lists '${opt_${o}}', which the table says does not apply")
    endif()
    if(NOT o IN_LIST opts)
      # Not applicable: refused as an unknown option.
      execute_process(COMMAND "${IBCHECK}" ${cmd} --${o} x RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
      if(NOT rc STREQUAL "2" OR NOT err MATCHES "unknown option '--${o}'")
        fail("${cmd} --${o}: exit ${rc} (need 2, unknown option): ${err}")
      endif()
    elseif(DEFINED bad_${o})
      # Parsed in one place: the same line from every command.
      list(GET bad_${o} 0 flag)
      list(GET bad_${o} 1 value)
      list(GET bad_${o} 2 line)
      execute_process(COMMAND "${IBCHECK}" ${cmd} ${flag} ${value} RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
      string(STRIP "${err}" err)
      if(NOT rc STREQUAL "2" OR NOT err STREQUAL "ibcheck: ${line}")
        fail("${cmd} ${flag} ${value}: exit ${rc} (need 2), stderr '${err}' (need 'ibcheck: ${line}')")
      endif()
    endif()
  endforeach()

  # -q and --quiet are taken by every command (before --help: nothing runs).
  foreach(q -q --quiet)
    execute_process(COMMAND "${IBCHECK}" ${cmd} ${q} --help RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
    if(NOT rc STREQUAL "0")
      fail("${cmd} ${q} --help: exit ${rc}: ${err}")
    endif()
  endforeach()

  # -o -: the one file on stdout, nothing else there.
  if(runargs)
    separate_arguments(args UNIX_COMMAND "${runargs}")
    execute_process(COMMAND "${IBCHECK}" ${cmd} ${args} WORKING_DIRECTORY "${WORKDIR}"
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
    if(NOT rc STREQUAL "0" OR NOT out MATCHES "${want}")
      fail("${cmd} ${runargs}: exit ${rc}, stdout does not match '${want}':\n${out}\nstderr: ${err}")
    endif()
    file(GLOB stray "${WORKDIR}/-*")
    if(stray)
      fail("${cmd} -o - created a file: ${stray}")
    endif()
  endif()
  message(STATUS "ok: ${cmd}: -q, --help ${opts}")
endforeach()

# -q silences: train prints its summary line on stderr, and nothing with -q.
separate_arguments(args UNIX_COMMAND "${SMALL}")
execute_process(COMMAND "${IBCHECK}" train ${args} -o "${WORKDIR}/a.json" ERROR_VARIABLE loud)
execute_process(COMMAND "${IBCHECK}" train ${args} -q -o "${WORKDIR}/b.json" ERROR_VARIABLE quiet)
if(NOT loud MATCHES "ibcheck: trained" OR NOT quiet STREQUAL "")
  fail("train -q: stderr without -q '${loud}', with -q '${quiet}' (need a summary, then nothing)")
endif()

foreach(cmd check compare info reproduce train radius attack)
  if(NOT cmd IN_LIST seen)
    fail("command ${cmd} has no row in the table")
  endif()
endforeach()
if(failures GREATER 0)
  message(FATAL_ERROR "${failures} checks failed")
endif()
