/* The checks the C API tests share: each prints "ok" or "FAIL" with what it
 * checked (and the library's last error message on failure) and counts the
 * failures; a test's main returns non-zero when g_failures is. */
#ifndef DYAD_TESTS_C_CHECK_H_
#define DYAD_TESTS_C_CHECK_H_

#include <dyad/dyad.h>

#include <stdio.h>

static int g_failures = 0;

static inline void check(int ok, const char* what) {
  printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) {
    const char* msg = dyad_last_error_message();
    printf("      (last error message: \"%s\")\n", msg ? msg : "(null)");
    ++g_failures;
  }
}

static inline void check_status(dyad_status got, dyad_status want, const char* what) {
  char line[512];
  snprintf(line, sizeof line, "%s -> %s (want %s)", what, dyad_status_string(got),
           dyad_status_string(want));
  check(got == want, line);
}

#endif /* DYAD_TESTS_C_CHECK_H_ */
