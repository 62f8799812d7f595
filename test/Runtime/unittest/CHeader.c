/*===- CHeader.c - fd_runtime.h compiles as C ------------------------------===
 *
 * The C API header must stay C (C99, no C++ constructs): this file is
 * compiled by the C compiler into fd-runtime-unittest, and
 * CApiTest.cpp's CHeaderIsC calls it.
 *
 *===----------------------------------------------------------------------===*/
#include "fd/Runtime/fd_runtime.h"

int fdtest_c_header(void) {
  fd_plan plan = {0};
  fd_score_stats stats = {0};
  fd_recentre_decision decision = {0};
  stats.rows = 3;
  decision.stats = stats;
  /* A C caller sees the same error path as C++ (no executable). */
  if (fd_executable_read_phi(NULL, &plan, NULL, NULL, NULL) == FD_OK)
    return 1;
  return (int)decision.stats.rows;
}
