# Mutation harness (scripts/mutate.sh, docs/mutation.md).
#  - lint.mutants: every tests/mutants/*.mut parses and its find: text occurs
#    exactly once (no build; about 0.4 s of CPU): a source edit that makes a
#    mutant stale fails the default test run instead of the next mutation run.
#  - mutation.selftest and mutation: label `mutation`, outside the default set
#    (test.sh and the CMake test presets exclude it; `ctest -L mutation` runs
#    them).  Both keep their scratch copy in build/mutation, so a second run
#    rebuilds only what changed; RESOURCE_LOCK keeps them from sharing it at once.
find_program(IBC_BASH bash)
if(IBC_BASH)
  set(IBC_MUTATE ${PROJECT_SOURCE_DIR}/scripts/mutate.sh)
  set(IBC_MUTATE_SCRATCH ${PROJECT_BINARY_DIR}/mutation)

  add_test(NAME lint.mutants COMMAND ${IBC_BASH} ${IBC_MUTATE} --validate
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(lint.mutants PROPERTIES LABELS lint TIMEOUT 60)

  # The harness on three mutants (killed, survived, stale) with a one-claim
  # check: exit statuses, verdicts, table and scores.  A few minutes, most
  # of it the first build of the scratch copy.
  add_test(NAME mutation.selftest
           COMMAND ${IBC_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/mutants/selftest/run.sh ${IBC_MUTATE}
                   ${PROJECT_BINARY_DIR}/mutation-selftest)
  set_tests_properties(mutation.selftest PROPERTIES LABELS mutation TIMEOUT 1800
                       ENVIRONMENT "IBC_MUTATE_DIR=${IBC_MUTATE_SCRATCH}" RESOURCE_LOCK ibc_mutation_scratch)

  # The whole catalogue, --fast (same verdicts, see docs/mutation.md); the
  # table lands in build/mutation.md.  Exit 0 only when the goals are met.
  add_test(NAME mutation
           COMMAND ${IBC_BASH} ${IBC_MUTATE} --fast --jobs 2 -o ${PROJECT_BINARY_DIR}/mutation.md
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(mutation PROPERTIES LABELS mutation TIMEOUT 14400
                       ENVIRONMENT "IBC_MUTATE_DIR=${IBC_MUTATE_SCRATCH}" RESOURCE_LOCK ibc_mutation_scratch)
endif()
