/*
 * cxx_harness.h - the few lines of a runner that the tests built as C and as C++ share
 * (layout.c, qnx_headers.c; harness.h is C only): RCHECK, run() and the summary line
 * `<program>: N passed, N failed`.
 */
#ifndef LIBNEUTRINO_CTEST_CXX_HARNESS_H
#define LIBNEUTRINO_CTEST_CXX_HARNESS_H

#include <stdio.h>
#include <string.h>

static int passed, failed;
static int case_failed;

#define RCHECK(cond)                                                            \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "    %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            case_failed = 1;                                                    \
        }                                                                       \
    } while (0)

static void run(const char *name, void (*fn)(void))
{
    case_failed = 0;
    fn();
    if (case_failed) {
        failed++;
        printf("FAIL %s\n", name);
    } else {
        passed++;
        printf("ok   %s\n", name);
    }
}

/* The summary line; the exit status. */
static int summary(const char *argv0)
{
    const char *prog = strrchr(argv0, '/');
    printf("%s: %d passed, %d failed\n", prog ? prog + 1 : argv0, passed, failed);
    return failed ? 1 : 0;
}

#endif /* LIBNEUTRINO_CTEST_CXX_HARNESS_H */
