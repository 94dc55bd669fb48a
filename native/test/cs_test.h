/*
 * cs_test.h — the tiny harness of the engine's C tests (native/test/test_*.c).
 *
 * A test file is one program:
 *
 *     #define CS_TEST_MAIN
 *     #include "cs_test.h"
 *
 *     TEST(nanosleep_in_a_coroutine_parks_instead_of_blocking_the_worker) {
 *         CHECK_EQ_LONG(nanosleep(&ts, NULL), 0);
 *     }
 *
 * Name tests as behaviour sentences in snake_case: the name is the
 * specification, and it is what the runner reports.
 *
 * The program, with CS_TEST_MAIN defined before the include:
 *     prog              list the test names, one per line, in file order
 *     prog --list       same
 *     prog NAME         run test NAME in this process; exit 0 (pass) or 1
 * Every test runs in a fresh process (native/test/c_tests.test.mjs starts
 * one per test, with a time limit), so a test may configure the runtime
 * before its first spawn, fork, crash or hang without affecting the others.
 *
 * Checks do not stop the test: they print "file:line: what failed" on stderr
 * and mark the test failed. REQUIRE(cond) also ends the process at once (use
 * it when going on makes no sense). Checks may be used inside coroutines and
 * on any thread.
 *
 * Helpers: now_ns() (CLOCK_MONOTONIC), run_in_coroutine(fn, arg) (spawn,
 * join, return the result), configure_workers(n) and configure_stack_size(b)
 * (call them before the first spawn of the test).
 */
#ifndef CS_TEST_H
#define CS_TEST_H

#include <coroscope.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CS_TEST_UNUSED __attribute__((unused))

typedef struct cs_test_case {
    const char *name;
    void (*fn)(void);
    const char *file;
    int line;
} cs_test_case;

#define CS_TEST_MAX 512
static cs_test_case cs_test_cases[CS_TEST_MAX];
static int cs_test_ncases;
static atomic_int cs_test_failures;
static const char *cs_test_current = "";

static CS_TEST_UNUSED void cs_test_register(const char *name, void (*fn)(void), const char *file, int line)
{
    if (cs_test_ncases == CS_TEST_MAX) {
        fprintf(stderr, "cs_test.h: more than %d tests in one program\n", CS_TEST_MAX);
        abort();
    }
    cs_test_cases[cs_test_ncases++] = (cs_test_case){name, fn, file, line};
}

/* TEST(name) { body } — defines and registers a test. */
#define TEST(name)                                                      \
    static void cs_test_fn_##name(void);                                \
    __attribute__((constructor)) static void cs_test_reg_##name(void)   \
    {                                                                   \
        cs_test_register(#name, cs_test_fn_##name, __FILE__, __LINE__); \
    }                                                                   \
    static void cs_test_fn_##name(void)

/* ---- reporting ------------------------------------------------------------ */

/* "EINVAL (22)", "COROSCOPE_ESTACKOVERFLOW (10001)", "0". Not reentrant
 * across more than 4 simultaneous uses in one message. */
static CS_TEST_UNUSED const char *cs_errname(long e)
{
    static __thread char bufs[4][64];
    static __thread int next;
    char *b = bufs[next++ & 3];
    if (e == 0) return "0";
    if (e == COROSCOPE_ESTACKOVERFLOW) return "COROSCOPE_ESTACKOVERFLOW (10001)";
    const char *n = (e > 0 && e < 4096) ? strerrorname_np((int)e) : NULL;
    snprintf(b, sizeof bufs[0], "%s (%ld)", n ? n : "?", e);
    return b;
}

static CS_TEST_UNUSED void cs_test_fail(const char *file, int line, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "%s:%d: %s\n", file, line, msg);
    fflush(stderr);
    atomic_fetch_add(&cs_test_failures, 1);
}

static CS_TEST_UNUSED _Noreturn void cs_test_abort(void)
{
    fflush(NULL);
    fprintf(stderr, "FAIL %s (stopped early)\n", cs_test_current);
    fflush(stderr);
    _exit(1);
}

/* Has any check failed so far (in this process)? */
static CS_TEST_UNUSED int test_failed(void)
{
    return atomic_load(&cs_test_failures) != 0;
}

#define CHECK(cond)                                                               \
    do {                                                                          \
        if (!(cond)) cs_test_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond); \
    } while (0)

#define REQUIRE(cond)                                                      \
    do {                                                                   \
        if (!(cond)) {                                                     \
            cs_test_fail(__FILE__, __LINE__, "REQUIRE(%s) failed", #cond); \
            cs_test_abort();                                               \
        }                                                                  \
    } while (0)

/* a and b are converted to long; the message shows both values. */
#define CS_CHECK_CMP_LONG(a, op, b, name, a_text, b_text)                                                           \
    do {                                                                                                            \
        long cs_a_ = (long)(a), cs_b_ = (long)(b);                                                                  \
        if (!(cs_a_ op cs_b_))                                                                                      \
            cs_test_fail(__FILE__, __LINE__, "%s(%s, %s) failed: %ld %s %ld is false", name, a_text, b_text, cs_a_, \
                         #op, cs_b_);                                                                               \
    } while (0)

#define CHECK_EQ_LONG(a, b) CS_CHECK_CMP_LONG(a, ==, b, "CHECK_EQ_LONG", #a, #b)
#define CHECK_NE_LONG(a, b) CS_CHECK_CMP_LONG(a, !=, b, "CHECK_NE_LONG", #a, #b)
#define CHECK_LT_LONG(a, b) CS_CHECK_CMP_LONG(a, <, b, "CHECK_LT_LONG", #a, #b)
#define CHECK_LE_LONG(a, b) CS_CHECK_CMP_LONG(a, <=, b, "CHECK_LE_LONG", #a, #b)
#define CHECK_GT_LONG(a, b) CS_CHECK_CMP_LONG(a, >, b, "CHECK_GT_LONG", #a, #b)
#define CHECK_GE_LONG(a, b) CS_CHECK_CMP_LONG(a, >=, b, "CHECK_GE_LONG", #a, #b)

/* expr is a -1/errno style call: it must return -1 with errno == err. */
#define CHECK_ERRNO(expr, err)                                                                                        \
    do {                                                                                                              \
        errno = 0;                                                                                                    \
        long cs_r_ = (long)(expr);                                                                                    \
        int cs_e_ = errno;                                                                                            \
        if (cs_r_ != -1 || cs_e_ != (err))                                                                            \
            cs_test_fail(__FILE__, __LINE__,                                                                          \
                         "CHECK_ERRNO(%s, %s) failed: returned %ld with errno %s (expected -1 with %s)", #expr, #err, \
                         cs_r_, cs_errname(cs_e_), cs_errname(err));                                                  \
    } while (0)

/* a and b are error numbers (the coroscope_* functions and clock_nanosleep
 * return them); printed by name. */
#define CHECK_EQ_ERR(a, b)                                                                                       \
    do {                                                                                                         \
        long cs_a_ = (long)(a), cs_b_ = (long)(b);                                                               \
        if (cs_a_ != cs_b_)                                                                                      \
            cs_test_fail(__FILE__, __LINE__, "CHECK_EQ_ERR(%s, %s) failed: %s != %s", #a, #b, cs_errname(cs_a_), \
                         cs_errname(cs_b_));                                                                     \
    } while (0)

#define CHECK_STR_CONTAINS(haystack, needle)                                                                           \
    do {                                                                                                               \
        const char *cs_h_ = (haystack), *cs_n_ = (needle);                                                             \
        if (!cs_h_ || !strstr(cs_h_, cs_n_))                                                                           \
            cs_test_fail(__FILE__, __LINE__, "CHECK_STR_CONTAINS(%s, %s) failed: \"%s\" not found in:\n%s", #haystack, \
                         #needle, cs_n_, cs_h_ ? cs_h_ : "(null)");                                                    \
    } while (0)

/* ---- helpers ---------------------------------------------------------------- */

static CS_TEST_UNUSED uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#define MS (1000000ll) /* nanoseconds in a millisecond: 150 * MS */

/* Spawn fn(arg) as a coroutine, join it, return its result. A failed spawn
 * ends the test; a join that does not return 0 is a failed check. */
static CS_TEST_UNUSED void *run_in_coroutine(coroscope_fn fn, void *arg)
{
    coroscope_co *co;
    void *res = NULL;
    int err = coroscope_spawn(&co, "test", fn, arg);
    if (err) {
        cs_test_fail(__FILE__, __LINE__, "run_in_coroutine: coroscope_spawn failed: %s", cs_errname(err));
        cs_test_abort();
    }
    err = coroscope_join(co, &res);
    if (err) cs_test_fail(__FILE__, __LINE__, "run_in_coroutine: coroscope_join returned %s", cs_errname(err));
    return res;
}

/* Configuration changes for the start of a test (before its first spawn). */
static CS_TEST_UNUSED void configure_workers(int n)
{
    coroscope_config c;
    REQUIRE(coroscope_config_get(&c) == 0);
    c.workers = n;
    int err = coroscope_configure(&c);
    if (err) {
        cs_test_fail(__FILE__, __LINE__, "configure_workers(%d): %s", n, cs_errname(err));
        cs_test_abort();
    }
}

static CS_TEST_UNUSED void configure_stack_size(size_t bytes)
{
    coroscope_config c;
    REQUIRE(coroscope_config_get(&c) == 0);
    c.stack_size = bytes;
    int err = coroscope_configure(&c);
    if (err) {
        cs_test_fail(__FILE__, __LINE__, "configure_stack_size(%zu): %s", bytes, cs_errname(err));
        cs_test_abort();
    }
}

/* ---- main --------------------------------------------------------------------- */

#ifdef CS_TEST_MAIN
static int cs_test_by_line(const void *a, const void *b)
{
    const cs_test_case *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : x->line - y->line;
}

int main(int argc, char **argv)
{
    qsort(cs_test_cases, (size_t)cs_test_ncases, sizeof cs_test_cases[0], cs_test_by_line);
    if (argc < 2 || !strcmp(argv[1], "--list")) {
        for (int i = 0; i < cs_test_ncases; i++) printf("%s\n", cs_test_cases[i].name);
        return 0;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || argc > 2) {
        fprintf(stderr, "usage: %s [--list | TEST_NAME]\n", argv[0]);
        return 2;
    }
    for (int i = 0; i < cs_test_ncases; i++) {
        if (strcmp(cs_test_cases[i].name, argv[1])) continue;
        cs_test_current = cs_test_cases[i].name;
        setvbuf(stdout, NULL, _IOLBF, 0);
        cs_test_cases[i].fn();
        fflush(NULL);
        int failed = test_failed();
        fprintf(stderr, "%s %s\n", failed ? "FAIL" : "PASS", cs_test_current);
        fflush(stderr);
        /* _exit: coroutines that are still parked (detached sleepers) must
         * not race with exit handlers. */
        _exit(failed ? 1 : 0);
    }
    fprintf(stderr, "%s: no test named %s (see %s --list)\n", argv[0], argv[1], argv[0]);
    return 2;
}
#endif

#endif
