# Shared setup of the table-driven CLI tests (exit_status.cmake,
# common_options.cmake): a fresh WORKDIR, quick model flags, and a small
# trained network in ${NET}.
cmake_minimum_required(VERSION 3.21)   # IN_LIST
file(REMOVE_RECURSE "${WORKDIR}")
file(MAKE_DIRECTORY "${WORKDIR}")
set(SMALL "--D 6 --K 4 --K1 2 --n 40 --h 8 --steps 10")
set(IDEAL "--ideal F --D 6 --K 4 --K1 2 --center 0")
set(NET "${WORKDIR}/net.json")
separate_arguments(setup_args UNIX_COMMAND "${SMALL}")
execute_process(COMMAND "${IBCHECK}" train ${setup_args} -q -o "${NET}" RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "setup: train exited ${rc}: ${err}")
endif()
