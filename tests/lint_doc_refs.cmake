# docs/theory.md says where each formula lives, as `path: name` (and
# `path: a`, `b`, ...).  Every such path must exist and every name must be
# defined there (a line that starts a definition, or a #define), so that the
# pointers stay true when code moves.  Six had gone stale when the early
# phase, the Monte Carlo sampler and the escape run moved out of the claim
# files.
if(NOT ROOT)
  message(FATAL_ERROR "lint_doc_refs.cmake needs -DROOT=<source dir>")
endif()
file(READ "${ROOT}/docs/theory.md" doc)
string(REGEX MATCHALL "`(src|proofs_numeric|include|tests)/[A-Za-z0-9_/.-]+[.][ch](: [A-Za-z0-9_]+)?`(,[ \n]+`[A-Za-z0-9_]+`)*"
       refs "${doc}")
set(bad 0)
set(n 0)
foreach(ref IN LISTS refs)
  string(REGEX MATCH "^`([^`:]+)" _ "${ref}")
  set(path "${CMAKE_MATCH_1}")
  if(NOT EXISTS "${ROOT}/${path}")
    message(SEND_ERROR "FAIL: docs/theory.md names ${path}, which does not exist")
    math(EXPR bad "${bad} + 1")
    continue()
  endif()
  file(READ "${ROOT}/${path}" src)
  string(REGEX REPLACE "^`[^`:]+:? ?" "" names "${ref}")
  string(REGEX MATCHALL "[A-Za-z0-9_]+" names "${names}")
  foreach(name IN LISTS names)
    math(EXPR n "${n} + 1")
    # A definition starts a line (this code base does not indent them): a
    # function or variable (type first, then the name), a typedef's closing
    # "} name;", or a #define.  A call or a use is indented.
    if(NOT src MATCHES "(^|\n)[A-Za-z}][^\n(]*[^A-Za-z0-9_]${name}[ ]*[(=;[]"
       AND NOT src MATCHES "#define ${name}[^A-Za-z0-9_]")
      message(SEND_ERROR "FAIL: docs/theory.md says ${name} is in ${path}; it is not defined there")
      math(EXPR bad "${bad} + 1")
    endif()
  endforeach()
endforeach()
list(LENGTH refs nrefs)
if(bad GREATER 0)
  message(FATAL_ERROR "${bad} stale pointers in docs/theory.md")
endif()
message(STATUS "ok: docs/theory.md: ${nrefs} code pointers, ${n} names, each defined where it says")
