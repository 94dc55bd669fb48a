/*
 * test_fork — fork() after the runtime started, from a coroutine or from a
 * plain thread.
 *
 * The child keeps only the forking thread (and, when it forked inside a
 * coroutine, that coroutine); the engine rebuilds its workers there, so the
 * child can spawn, join and sleep in coroutines with the hooks working. The
 * parent's runtime is untouched. The parent's other coroutines stay behind,
 * like its other threads.
 *
 * A child reports through its exit status: 0 when every check passed in it
 * (its failed checks are printed on the shared stderr). The parent waits for
 * it with a time limit, so a child that hangs fails the test instead of
 * hanging it.
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include <signal.h>
#include <sys/wait.h>

/* Wait for pid at most timeout_ms; kill it if it is still running then.
 * Returns its wait status, or -1 if it had to be killed. */
static int wait_child(pid_t pid, long timeout_ms)
{
    uint64_t t0 = now_ns();
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        REQUIRE(r >= 0);
        if (r == pid) return status;
        if (now_ns() - t0 > (uint64_t)timeout_ms * MS) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        usleep(2000);
    }
}

static void check_child_passed(pid_t pid, long timeout_ms)
{
    int status = wait_child(pid, timeout_ms);
    if (status == -1)
        cs_test_fail(__FILE__, __LINE__, "the child did not exit within %ld ms (it hung; killed)", timeout_ms);
    else if (WIFSIGNALED(status))
        cs_test_fail(__FILE__, __LINE__, "the child was killed by signal %d (%s)", WTERMSIG(status),
                     strsignal(WTERMSIG(status)));
    else if (WEXITSTATUS(status) != 0)
        cs_test_fail(__FILE__, __LINE__, "the child exited with status %d (its failed checks are above)",
                     WEXITSTATUS(status));
}

/* ---- what a process (parent or child) checks its runtime with ----------- */

typedef struct span {
    uint64_t start, end;
} span;

static void *sleep_150ms(void *arg)
{
    span *s = arg;
    s->start = now_ns();
    struct timespec ts = {0, 150 * MS};
    CHECK_EQ_LONG(nanosleep(&ts, NULL), 0);
    s->end = now_ns();
    return (void *)(uintptr_t)coroscope_id();
}

/* Spawn two sleepers, join them: they ran, returned their ids, and their
 * sleeps overlapped (with one worker, only parking allows that). */
static void two_sleeps_overlap(const char *who)
{
    span s[2] = {{0, 0}, {0, 0}};
    coroscope_co *co[2];
    for (int i = 0; i < 2; i++) REQUIRE(coroscope_spawn(&co[i], "sleep_150ms", sleep_150ms, &s[i]) == 0);
    for (int i = 0; i < 2; i++) {
        void *id = NULL;
        uint64_t want = coroscope_co_id(co[i]);
        CHECK_EQ_ERR(coroscope_join(co[i], &id), 0);
        CHECK_EQ_LONG((uintptr_t)id, want);
    }
    uint64_t last_start = s[0].start > s[1].start ? s[0].start : s[1].start;
    uint64_t first_end = s[0].end < s[1].end ? s[0].end : s[1].end;
    if (!(last_start < first_end))
        cs_test_fail(__FILE__, __LINE__, "%s: the two sleeps did not overlap (one blocked the worker)", who);
    CHECK_GE_LONG(s[0].end - s[0].start, 150 * MS);
}

static void *add_after_sleep(void *arg)
{
    struct timespec ts = {0, 20 * MS};
    CHECK_EQ_LONG(nanosleep(&ts, NULL), 0);
    return (void *)((uintptr_t)arg + 1);
}

/* Many short sleepers across all workers. */
static void many_sleepers(const char *who)
{
    enum { N = 100 };
    coroscope_co *co[N];
    long sum = 0;
    for (long i = 0; i < N; i++) REQUIRE(coroscope_spawn(&co[i], "add", add_after_sleep, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < N; i++) {
        void *r = NULL;
        CHECK_EQ_ERR(coroscope_join(co[i], &r), 0);
        sum += (long)(intptr_t)r;
    }
    if (sum != (long)N * (N + 1) / 2)
        cs_test_fail(__FILE__, __LINE__, "%s: sum of results %ld, expected %ld", who, sum, (long)N * (N + 1) / 2);
}

static void *start_runtime(void *arg)
{
    return arg;
}

/* ---- fork inside a coroutine ----------------------------------------------- */

typedef struct fork_opts {
    int many; /* child also runs many_sleepers */
} fork_opts;

static void *fork_in_coroutine(void *arg)
{
    fork_opts *o = arg;
    uint64_t my_id = coroscope_id();
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        /* the child: still this coroutine, on the only surviving thread */
        CHECK_EQ_LONG(coroscope_id(), my_id);
        struct timespec ts = {0, 30 * MS};
        uint64_t t0 = now_ns();
        CHECK_EQ_LONG(nanosleep(&ts, NULL), 0);
        CHECK_GE_LONG(now_ns() - t0, 30 * MS);
        two_sleeps_overlap("child");
        if (o->many) many_sleepers("child");
        fflush(NULL);
        _exit(test_failed() ? 1 : 0);
    }
    /* the parent's coroutine carries on */
    struct timespec ts = {0, 10 * MS};
    CHECK_EQ_LONG(nanosleep(&ts, NULL), 0);
    return (void *)(intptr_t)pid;
}

TEST(fork_inside_a_coroutine_gives_a_child_that_can_spawn_join_and_park_coroutines)
{
    configure_workers(1); /* so that overlapping sleeps prove parking */
    fork_opts o = {0};
    pid_t pid = (pid_t)(intptr_t)run_in_coroutine(fork_in_coroutine, &o);
    two_sleeps_overlap("parent");
    check_child_passed(pid, 10000);
}

TEST(fork_inside_a_coroutine_with_several_workers_gives_a_working_child_and_parent)
{
    configure_workers(2);
    fork_opts o = {.many = 1};
    pid_t pid = (pid_t)(intptr_t)run_in_coroutine(fork_in_coroutine, &o);
    many_sleepers("parent");
    check_child_passed(pid, 10000);
}

/* ---- fork from main --------------------------------------------------------- */

static void fork_from_main(int many)
{
    run_in_coroutine(start_runtime, NULL);
    /* a coroutine asleep in the parent across the fork */
    span across = {0, 0};
    coroscope_co *sleeper;
    REQUIRE(coroscope_spawn(&sleeper, "across_fork", sleep_150ms, &across) == 0);
    usleep(20000);
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        CHECK_EQ_LONG(coroscope_id(), 0);
        two_sleeps_overlap("child");
        if (many) many_sleepers("child");
        fflush(NULL);
        _exit(test_failed() ? 1 : 0);
    }
    /* the parent is unaffected */
    CHECK_EQ_ERR(coroscope_join(sleeper, NULL), 0);
    CHECK_GE_LONG(across.end - across.start, 150 * MS);
    two_sleeps_overlap("parent");
    if (many) many_sleepers("parent");
    check_child_passed(pid, 10000);
}

TEST(fork_from_main_after_the_runtime_started_gives_a_child_that_can_spawn_join_and_park_coroutines)
{
    configure_workers(1);
    fork_from_main(0);
}

TEST(fork_from_main_with_several_workers_gives_a_working_child_and_parent)
{
    configure_workers(2);
    fork_from_main(1);
}

/* ---- what stays behind -------------------------------------------------------- */

static int marks[2];

static void *sleep_then_mark(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 200 * MS};
    nanosleep(&ts, NULL);
    char c = 'X';
    CHECK_EQ_LONG(write(marks[1], &c, 1), 1);
    return NULL;
}

static void *fork_and_outlive_the_marker(void *arg)
{
    (void)arg;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec ts = {0, 400 * MS}; /* well past the marker's 200 ms */
        nanosleep(&ts, NULL);
        _exit(0);
    }
    return (void *)(intptr_t)pid;
}

static void only_the_parent_marks(int from_coroutine)
{
    configure_workers(1);
    REQUIRE(pipe(marks) == 0);
    coroscope_co *marker;
    REQUIRE(coroscope_spawn(&marker, "marker", sleep_then_mark, NULL) == 0);
    usleep(20000); /* the marker is asleep now */
    pid_t pid;
    if (from_coroutine) {
        pid = (pid_t)(intptr_t)run_in_coroutine(fork_and_outlive_the_marker, NULL);
    } else {
        pid = (pid_t)(intptr_t)fork_and_outlive_the_marker(NULL);
    }
    REQUIRE(pid > 0);
    CHECK_EQ_ERR(coroscope_join(marker, NULL), 0);
    check_child_passed(pid, 10000);
    close(marks[1]);
    char buf[16];
    long n = 0, r;
    while ((r = read(marks[0], buf + n, sizeof buf - (size_t)n)) > 0) n += r;
    CHECK_EQ_LONG(n, 1); /* one 'X': the parent's marker; the child's copy never ran */
}

TEST(coroutines_of_the_parent_do_not_run_in_a_child_forked_from_main)
{
    only_the_parent_marks(0);
}

TEST(coroutines_of_the_parent_do_not_run_in_a_child_forked_from_a_coroutine)
{
    only_the_parent_marks(1);
}

/* ---- fork while the runtime is busy ------------------------------------------ */

static _Atomic int churning = 1;

static void *noop(void *arg)
{
    return arg;
}

static void *churn(void *arg)
{
    (void)arg;
    while (atomic_load(&churning)) {
        coroscope_co *co;
        if (coroscope_spawn(&co, "churn", noop, NULL) == 0) coroscope_join(co, NULL);
    }
    return NULL;
}

static void *spawn_in_child(void *arg)
{
    return (void *)((uintptr_t)arg + 1);
}

TEST(fork_while_other_workers_spawn_and_join_gives_children_that_can_always_spawn)
{
    configure_workers(2);
    coroscope_co *churner[2];
    for (int i = 0; i < 2; i++) REQUIRE(coroscope_spawn(&churner[i], "churner", churn, NULL) == 0);
    usleep(20000);
    int bad = 0;
    for (int i = 0; i < 100 && !bad; i++) {
        fflush(NULL);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            coroscope_co *co;
            void *r = NULL;
            if (coroscope_spawn(&co, "in_child", spawn_in_child, (void *)41) || coroscope_join(co, &r) ||
                r != (void *)42)
                _exit(1);
            _exit(0);
        }
        int status = wait_child(pid, 5000);
        if (status != 0) {
            bad = 1;
            cs_test_fail(__FILE__, __LINE__, "fork #%d: the child %s", i,
                         status == -1 ? "hung (killed after 5 s)" : "failed");
        }
    }
    atomic_store(&churning, 0);
    for (int i = 0; i < 2; i++) CHECK_EQ_ERR(coroscope_join(churner[i], NULL), 0);
}
