# proof_claim (proofs_numeric/claim_main.c) without a claim id, with two, or
# with an id the registry lacks: exit 2 and one line naming what it got.
foreach(args "" "no-such-claim" "balance;margin")
  execute_process(COMMAND ${PROG} ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(STRIP "${err}" err)
  string(REGEX MATCHALL "\n" nl "${err}")
  list(LENGTH nl nlines)
  if(NOT rc EQUAL 2 OR NOT err MATCHES "^proof_claim: need one claim id" OR nlines GREATER 0 OR NOT out STREQUAL "")
    message(FATAL_ERROR "proof_claim '${args}': exit ${rc}, stderr '${err}', stdout '${out}' (want exit 2, one line)")
  endif()
  message(STATUS "proof_claim '${args}': exit 2, '${err}'")
endforeach()
