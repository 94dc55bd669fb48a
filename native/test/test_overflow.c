/*
 * test_overflow — a coroutine that runs past its stack is ended cleanly.
 *
 * The guard page below every coroutine stack turns an overflow into a
 * SIGSEGV that the engine recognises: the coroutine ends, its join returns
 * COROSCOPE_ESTACKOVERFLOW, a report naming it and its stack size goes to
 * stderr, and the process (and every other coroutine) goes on. Faults that
 * are not stack overflows keep their usual meaning.
 *
 * A SIGSEGV sent by a process (kill, tgkill, raise, sigqueue) is no fault:
 * nothing faults again after the handler returns, so the engine delivers it
 * again under the default action and the process dies by SIGSEGV, as it
 * would without the engine (or ignores it, when the program ignores it).
 *
 * stderr is captured in-process: fd 2 is pointed at a memfd around the
 * overflow (the engine writes its report with write(2) on fd 2).
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

/* ---- capturing stderr ---------------------------------------------------- */

static int saved_stderr = -1, capture_fd = -1;
static _Atomic int capturing;
static pthread_t capture_dog;

/* While stderr is captured a hang would show nothing: after 10 s, print what
 * was captured on the real stderr and fail. */
static void *capture_watchdog(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        if (!atomic_load(&capturing)) return NULL;
        usleep(10000);
    }
    char buf[8192];
    ssize_t n = pread(capture_fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    dprintf(saved_stderr,
            "%s: still running 10 s after stderr capture began (hung?); captured so far:\n%s\n"
            "FAIL %s\n",
            cs_test_current, buf, cs_test_current);
    _exit(1);
}

static void capture_stderr_begin(void)
{
    fflush(stderr);
    capture_fd = memfd_create("captured-stderr", MFD_CLOEXEC);
    REQUIRE(capture_fd >= 0);
    saved_stderr = dup(2);
    REQUIRE(saved_stderr >= 0);
    REQUIRE(dup2(capture_fd, 2) == 2);
    atomic_store(&capturing, 1);
    REQUIRE(pthread_create(&capture_dog, NULL, capture_watchdog, NULL) == 0);
}

/* Stop capturing; returns what was written (malloc'd) and echoes it to the
 * real stderr so a failing test shows it. */
static char *capture_stderr_end(void)
{
    atomic_store(&capturing, 0);
    pthread_join(capture_dog, NULL);
    fflush(stderr);
    REQUIRE(dup2(saved_stderr, 2) == 2);
    close(saved_stderr);
    off_t len = lseek(capture_fd, 0, SEEK_END);
    char *buf = calloc(1, (size_t)len + 1);
    REQUIRE(buf);
    REQUIRE(pread(capture_fd, buf, (size_t)len, 0) == len);
    close(capture_fd);
    fprintf(stderr, "[captured stderr]\n%s[end of captured stderr]\n", buf);
    return buf;
}

/* ---- recursion ----------------------------------------------------------- */

typedef struct dive {
    size_t limit;  /* stop at this depth in bytes; 0: never */
    uintptr_t top; /* address near the top of the coroutine's stack */
    volatile uintptr_t lowest;
    long frames;
} dive;

/* Each frame holds a volatile array that is written, and uses the callee's
 * result after the call: no tail call, no frame merging. Depths are measured
 * with frame addresses, which are on the real stack even where the array is
 * not (ASan with detect_stack_use_after_return puts it on a fake stack). */
__attribute__((noinline)) static long recurse(dive *d, long n)
{
    volatile char frame[256];
    frame[0] = (char)n;
    frame[sizeof frame - 1] = (char)n;
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    if (sp < d->lowest) d->lowest = sp;
    d->frames = n;
    if (d->limit && d->top - sp >= d->limit) return n;
    return recurse(d, n + 1) + frame[n % (long)sizeof frame];
}

static void *dive_in(void *arg)
{
    dive *d = arg;
    d->top = (uintptr_t)__builtin_frame_address(0);
    d->lowest = d->top;
    recurse(d, 1);
    return (void *)1; /* only when d->limit stopped the recursion */
}

static void *return_seven(void *arg)
{
    (void)arg;
    return (void *)7;
}

/* ---- tests ------------------------------------------------------------------- */

TEST(a_coroutine_that_overflows_its_stack_is_ended_and_join_returns_estackoverflow)
{
    configure_stack_size(64 * 1024);
    dive d = {0};
    coroscope_co *co;
    void *res = (void *)0xdead;
    capture_stderr_begin();
    REQUIRE(coroscope_spawn(&co, "deep_recursion", dive_in, &d) == 0);
    int rc = coroscope_join(co, &res);
    free(capture_stderr_end());
    CHECK_EQ_ERR(rc, COROSCOPE_ESTACKOVERFLOW);
    CHECK(res == NULL);
    CHECK_GT_LONG(d.frames, 10);
    /* the process goes on, and so does the runtime */
    CHECK_EQ_LONG((uintptr_t)run_in_coroutine(return_seven, NULL), 7);
}

TEST(the_overflow_report_on_stderr_names_the_coroutine_and_its_stack_size)
{
    configure_stack_size(64 * 1024);
    dive d = {0};
    coroscope_co *co;
    capture_stderr_begin();
    REQUIRE(coroscope_spawn(&co, "deep_recursion", dive_in, &d) == 0);
    uint64_t id = coroscope_co_id(co);
    int rc = coroscope_join(co, NULL);
    char *err = capture_stderr_end();
    CHECK_EQ_ERR(rc, COROSCOPE_ESTACKOVERFLOW);
    char who[64];
    snprintf(who, sizeof who, "#%llu \"deep_recursion\"", (unsigned long long)id);
    CHECK_STR_CONTAINS(err, "coroscope: ");
    CHECK_STR_CONTAINS(err, who);
    CHECK_STR_CONTAINS(err, "65536");
    CHECK_STR_CONTAINS(err, "COROSCOPE_STACK_SIZE"); /* tells how to fix it */
    free(err);
}

static void check_usable_stack(size_t size)
{
    /* nearly all of it can be used... */
    dive ok = {.limit = size - 2048};
    CHECK_EQ_LONG((uintptr_t)run_in_coroutine(dive_in, &ok), 1);
    /* ...and the overflow comes right at its end, not later */
    dive over = {0};
    coroscope_co *co;
    capture_stderr_begin();
    REQUIRE(coroscope_spawn(&co, "deep_recursion", dive_in, &over) == 0);
    int rc = coroscope_join(co, NULL);
    free(capture_stderr_end());
    CHECK_EQ_ERR(rc, COROSCOPE_ESTACKOVERFLOW);
    size_t reached = over.top - over.lowest;
    CHECK_GE_LONG(reached, size - 2048);
    CHECK_LE_LONG(reached, size);
}

TEST(the_stack_overflows_at_the_configured_size_not_before_and_not_after)
{
    configure_stack_size(64 * 1024);
    check_usable_stack(64 * 1024);
}

TEST(the_default_stack_holds_256_kib)
{
    check_usable_stack(256 * 1024);
}

typedef struct bystander {
    _Atomic int started;
} bystander;

static void *sleep_then_return_eleven(void *arg)
{
    bystander *b = arg;
    atomic_store(&b->started, 1);
    struct timespec ts = {0, 100 * MS};
    CHECK_EQ_LONG(nanosleep(&ts, NULL), 0);
    return (void *)11;
}

TEST(repeated_overflows_on_one_worker_are_each_handled_and_other_coroutines_are_unaffected)
{
    configure_workers(1);
    configure_stack_size(64 * 1024);
    bystander b = {0};
    coroscope_co *sleeper;
    REQUIRE(coroscope_spawn(&sleeper, "bystander", sleep_then_return_eleven, &b) == 0);
    while (!atomic_load(&b.started)) usleep(1000);
    capture_stderr_begin();
    int rcs[5];
    for (int i = 0; i < 5; i++) {
        dive d = {0};
        coroscope_co *co;
        REQUIRE(coroscope_spawn(&co, "deep_recursion", dive_in, &d) == 0);
        rcs[i] = coroscope_join(co, NULL);
    }
    char *err = capture_stderr_end();
    for (int i = 0; i < 5; i++) CHECK_EQ_ERR(rcs[i], COROSCOPE_ESTACKOVERFLOW);
    int reports = 0;
    for (const char *p = err; (p = strstr(p, "\"deep_recursion\"")); p++) reports++;
    CHECK_EQ_LONG(reports, 5);
    free(err);
    void *res = NULL;
    CHECK_EQ_ERR(coroscope_join(sleeper, &res), 0);
    CHECK_EQ_LONG((uintptr_t)res, 11);
    CHECK_EQ_LONG((uintptr_t)run_in_coroutine(return_seven, NULL), 7);
}

enum { TOGETHER = 16 };
static _Atomic int together_started;

static void *dive_together(void *arg)
{
    atomic_fetch_add(&together_started, 1);
    while (atomic_load(&together_started) < TOGETHER) /* all stacks live at once */
        coroscope_yield();
    return dive_in(arg);
}

TEST(many_coroutines_overflowing_at_once_on_all_workers_are_each_handled)
{
    configure_stack_size(64 * 1024);
    enum { N = TOGETHER };
    dive d[N];
    coroscope_co *co[N];
    memset(d, 0, sizeof d);
    capture_stderr_begin();
    for (int i = 0; i < N; i++) REQUIRE(coroscope_spawn(&co[i], "deep_recursion", dive_together, &d[i]) == 0);
    int rcs[N];
    for (int i = 0; i < N; i++) rcs[i] = coroscope_join(co[i], NULL);
    free(capture_stderr_end());
    for (int i = 0; i < N; i++) CHECK_EQ_ERR(rcs[i], COROSCOPE_ESTACKOVERFLOW);
    CHECK_EQ_LONG((uintptr_t)run_in_coroutine(return_seven, NULL), 7);
}

/* ---- faults that are not overflows ---------------------------------------- */

static void *touch_forbidden_page(void *arg)
{
    volatile char *p = arg;
    *p = 1;
    return NULL;
}

/* Fork a child that runs child_main; return its wait status. */
static int in_child(void (*child_main)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        child_main();
        _exit(99);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    return status;
}

static void *forbidden_page(void)
{
    void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(p != MAP_FAILED);
    return p;
}

static void fault_in_a_coroutine(void)
{
    run_in_coroutine(touch_forbidden_page, forbidden_page());
}

/* The program's own SIGSEGV disposition is the default, said explicitly:
 * under ASan the process starts with ASan's handler installed, which the
 * engine would rightly chain to (it reports the fault and exits 1). */
static void default_segv_then_fault(void)
{
    if (signal(SIGSEGV, SIG_DFL) == SIG_ERR) _exit(98);
    fault_in_a_coroutine();
}

TEST(a_segfault_that_is_not_a_stack_overflow_still_kills_the_process)
{
    int status = in_child(default_segv_then_fault);
    CHECK(WIFSIGNALED(status));
    if (WIFSIGNALED(status))
        CHECK_EQ_LONG(WTERMSIG(status), SIGSEGV);
    else
        fprintf(stderr, "child exited with %d\n", WEXITSTATUS(status));
}

static void exit_42(int sig)
{
    (void)sig;
    _exit(42);
}

static void own_handler_then_fault(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = exit_42;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL)) _exit(98);
    fault_in_a_coroutine();
}

TEST(a_program_segv_handler_installed_before_the_runtime_started_still_gets_other_faults)
{
    int status = in_child(own_handler_then_fault);
    CHECK(WIFEXITED(status));
    if (WIFEXITED(status))
        CHECK_EQ_LONG(WEXITSTATUS(status), 42);
    else
        fprintf(stderr, "child killed by signal %d\n", WTERMSIG(status));
}

/* ---- SIGSEGV sent by a process, not by a fault --------------------------------- */

static void *sleep_long(void *arg)
{
    (void)arg;
    sleep(30);
    return NULL;
}

static void *raise_segv(void *arg)
{
    (void)arg;
    raise(SIGSEGV); /* tgkill to this worker thread, inside a coroutine: si_code SI_TKILL */
    sleep(2);
    return NULL;
}

/* Coroutines running (the handler is installed), then kill(getpid(), SIGSEGV):
 * without the engine the process dies at once. Exits 0 if it survived. */
static void kill_self_with_segv(void)
{
    coroscope_co *co;
    if (coroscope_spawn(&co, "sleeper", sleep_long, NULL)) _exit(97);
    coroscope_detach(co);
    usleep(50 * 1000);
    kill(getpid(), SIGSEGV);
    for (int i = 0; i < 20; i++) usleep(100 * 1000); /* a signal handled on another thread takes a moment */
    _exit(0);
}

static void raise_segv_in_a_coroutine(void)
{
    run_in_coroutine(raise_segv, NULL);
    _exit(0);
}

static void ignore_segv_then_kill_self(void)
{
    configure_stack_size(64 * 1024);
    coroscope_co *co;
    if (coroscope_spawn(&co, "sleeper", sleep_long, NULL)) _exit(97);
    coroscope_detach(co);
    if (signal(SIGSEGV, SIG_IGN) == SIG_ERR) /* after the runtime started: the engine keeps it */
        _exit(98);
    kill(getpid(), SIGSEGV);
    usleep(300 * 1000);
    /* ...and the engine still ends an overflowing coroutine cleanly afterwards */
    dive d = {0};
    coroscope_co *deep;
    if (coroscope_spawn(&deep, "deep_recursion", dive_in, &d)) _exit(96);
    _exit(coroscope_join(deep, NULL) == COROSCOPE_ESTACKOVERFLOW ? 0 : 95);
}

static void check_killed_by_segv(int status)
{
    CHECK(WIFSIGNALED(status));
    if (WIFSIGNALED(status))
        CHECK_EQ_LONG(WTERMSIG(status), SIGSEGV);
    else
        fprintf(stderr, "child exited with %d instead of dying by SIGSEGV\n", WEXITSTATUS(status));
}

TEST(a_sigsegv_sent_with_kill_ends_the_process_by_sigsegv_as_without_the_engine)
{
    check_killed_by_segv(in_child(kill_self_with_segv));
}

TEST(a_sigsegv_raised_inside_a_coroutine_ends_the_process_by_sigsegv)
{
    check_killed_by_segv(in_child(raise_segv_in_a_coroutine));
}

TEST(a_sigsegv_sent_with_kill_is_ignored_when_the_program_ignores_sigsegv)
{
    int status = in_child(ignore_segv_then_kill_self);
    CHECK(WIFEXITED(status));
    if (WIFEXITED(status))
        CHECK_EQ_LONG(WEXITSTATUS(status), 0);
    else
        fprintf(stderr, "child killed by signal %d\n", WTERMSIG(status));
}
