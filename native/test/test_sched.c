/*
 * test_sched — spawn, join, detach, yield, ids, configuration, errno.
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>

/* ---- join ------------------------------------------------------------------ */

static void *return_arg_plus_one(void *arg)
{
    return (void *)((uintptr_t)arg + 1);
}

TEST(join_returns_the_coroutine_result)
{
    coroscope_co *co;
    void *res = NULL;
    REQUIRE(coroscope_spawn(&co, "adder", return_arg_plus_one, (void *)0x1000) == 0);
    CHECK_EQ_ERR(coroscope_join(co, &res), 0);
    CHECK_EQ_LONG((uintptr_t)res, 0x1001);
    /* a NULL result pointer is allowed */
    REQUIRE(coroscope_spawn(&co, "adder", return_arg_plus_one, NULL) == 0);
    CHECK_EQ_ERR(coroscope_join(co, NULL), 0);
}

static _Atomic int slow_finished;

static void *slow_then_flag(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 100 * MS};
    nanosleep(&ts, NULL);
    atomic_store(&slow_finished, 1);
    return (void *)42;
}

TEST(join_on_a_plain_thread_waits_until_the_coroutine_has_finished)
{
    coroscope_co *co;
    void *res = NULL;
    uint64_t t0 = now_ns();
    REQUIRE(coroscope_spawn(&co, "slow", slow_then_flag, NULL) == 0);
    CHECK_EQ_ERR(coroscope_join(co, &res), 0);
    CHECK(atomic_load(&slow_finished));
    CHECK_EQ_LONG((uintptr_t)res, 42);
    CHECK_GE_LONG(now_ns() - t0, 100 * MS);
}

typedef struct join_scene {
    _Atomic int parent_in_join;
    _Atomic int witness_saw_parent_in_join;
    _Atomic int witness_ran;
    void *child_result;
    int join_rc;
} join_scene;

static void *sleepy_child(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 200 * MS};
    CHECK_EQ_LONG(nanosleep(&ts, NULL), 0);
    return (void *)7;
}

static void *join_witness(void *arg)
{
    join_scene *s = arg;
    atomic_store(&s->witness_saw_parent_in_join, atomic_load(&s->parent_in_join));
    atomic_store(&s->witness_ran, 1);
    return NULL;
}

static void *joining_parent(void *arg)
{
    join_scene *s = arg;
    coroscope_co *child, *w;
    REQUIRE(coroscope_spawn(&child, "sleepy_child", sleepy_child, NULL) == 0);
    REQUIRE(coroscope_spawn(&w, "witness", join_witness, s) == 0);
    atomic_store(&s->parent_in_join, 1);
    s->join_rc = coroscope_join(child, &s->child_result);
    atomic_store(&s->parent_in_join, 0);
    CHECK_EQ_ERR(coroscope_join(w, NULL), 0);
    return NULL;
}

TEST(join_inside_a_coroutine_suspends_the_joiner_instead_of_blocking_the_worker)
{
    /* One worker: if the join blocked the thread, the child could never run
     * and this test would hang (and fail on the runner's time limit). */
    configure_workers(1);
    join_scene s = {0};
    run_in_coroutine(joining_parent, &s);
    CHECK_EQ_ERR(s.join_rc, 0);
    CHECK_EQ_LONG((uintptr_t)s.child_result, 7);
    CHECK(atomic_load(&s.witness_ran));
    CHECK(atomic_load(&s.witness_saw_parent_in_join));
}

TEST(joining_a_handle_twice_returns_einval)
{
    coroscope_co *co;
    REQUIRE(coroscope_spawn(&co, "adder", return_arg_plus_one, NULL) == 0);
    CHECK_EQ_ERR(coroscope_join(co, NULL), 0);
    CHECK_EQ_ERR(coroscope_join(co, NULL), EINVAL);
    CHECK_EQ_ERR(coroscope_detach(co), EINVAL);
}

static _Atomic int detached_ran;

static void *set_detached_ran(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 50 * MS};
    nanosleep(&ts, NULL);
    atomic_store(&detached_ran, 1);
    return NULL;
}

TEST(a_detached_coroutine_still_runs_to_completion_and_its_handle_cannot_be_used_again)
{
    coroscope_co *co;
    REQUIRE(coroscope_spawn(&co, "detached", set_detached_ran, NULL) == 0);
    CHECK_EQ_ERR(coroscope_detach(co), 0);
    CHECK_EQ_ERR(coroscope_detach(co), EINVAL);
    CHECK_EQ_ERR(coroscope_join(co, NULL), EINVAL);
    uint64_t t0 = now_ns();
    while (!atomic_load(&detached_ran) && now_ns() - t0 < 5000 * MS) usleep(1000);
    CHECK(atomic_load(&detached_ran));
}

TEST(join_and_detach_reject_a_null_handle_with_einval)
{
    CHECK_EQ_ERR(coroscope_join(NULL, NULL), EINVAL);
    CHECK_EQ_ERR(coroscope_detach(NULL), EINVAL);
    coroscope_co *co;
    CHECK_EQ_ERR(coroscope_spawn(&co, "nofn", NULL, NULL), EINVAL);
    CHECK_EQ_ERR(coroscope_spawn(NULL, "noout", return_arg_plus_one, NULL), EINVAL);
}

static coroscope_co *_Atomic self_handle;

static void *join_myself(void *arg)
{
    (void)arg;
    while (!atomic_load(&self_handle)) coroscope_yield();
    CHECK_EQ_ERR(coroscope_join(atomic_load(&self_handle), NULL), EDEADLK);
    return (void *)5;
}

TEST(a_coroutine_joining_itself_gets_edeadlk_and_its_handle_stays_joinable)
{
    coroscope_co *co;
    void *res = NULL;
    REQUIRE(coroscope_spawn(&co, "narcissus", join_myself, NULL) == 0);
    atomic_store(&self_handle, co);
    CHECK_EQ_ERR(coroscope_join(co, &res), 0);
    CHECK_EQ_LONG((uintptr_t)res, 5);
}

/* ---- yield ------------------------------------------------------------------ */

#define ROUNDS 20
static _Atomic int rr_started;
static uint64_t rr_order[3 * ROUNDS];
static _Atomic int rr_n;

static void *round_robin(void *arg)
{
    uint64_t me = (uintptr_t)arg;
    atomic_fetch_add(&rr_started, 1);
    while (atomic_load(&rr_started) < 3) /* wait until all three are in the run queue */
        coroscope_yield();
    for (int i = 0; i < ROUNDS; i++) {
        rr_order[atomic_fetch_add(&rr_n, 1)] = me;
        coroscope_yield();
    }
    return NULL;
}

TEST(three_coroutines_yielding_in_a_loop_on_one_worker_interleave_round_robin)
{
    configure_workers(1);
    coroscope_co *co[3];
    for (uintptr_t i = 0; i < 3; i++) REQUIRE(coroscope_spawn(&co[i], "yielder", round_robin, (void *)(i + 1)) == 0);
    for (int i = 0; i < 3; i++) CHECK_EQ_ERR(coroscope_join(co[i], NULL), 0);
    REQUIRE(atomic_load(&rr_n) == 3 * ROUNDS);
    /* the first three entries are the three coroutines, in some order... */
    CHECK(rr_order[0] != rr_order[1] && rr_order[1] != rr_order[2] && rr_order[0] != rr_order[2]);
    /* ...and that order repeats: A B C A B C ... */
    int breaks = 0;
    for (int i = 3; i < 3 * ROUNDS; i++)
        if (rr_order[i] != rr_order[i % 3]) {
            if (!breaks++)
                cs_test_fail(__FILE__, __LINE__, "round-robin broken at entry %d: %lu instead of %lu", i,
                             (unsigned long)rr_order[i], (unsigned long)rr_order[i % 3]);
        }
    CHECK_EQ_LONG(breaks, 0);
    if (breaks) {
        char line[3 * ROUNDS * 2 + 1];
        for (int i = 0; i < 3 * ROUNDS; i++) line[2 * i] = (char)('A' + rr_order[i] - 1), line[2 * i + 1] = ' ';
        line[sizeof line - 1] = '\0';
        fprintf(stderr, "order: %s\n", line);
    }
}

TEST(yield_on_a_plain_thread_returns)
{
    coroscope_yield();
    CHECK_EQ_LONG(coroscope_id(), 0);
}

/* ---- ids ---------------------------------------------------------------------- */

static void *my_id(void *arg)
{
    (void)arg;
    coroscope_yield();
    return (void *)(uintptr_t)coroscope_id();
}

#define NIDS 64

TEST(coroscope_id_is_zero_on_a_plain_thread_and_distinct_and_non_zero_in_coroutines)
{
    CHECK_EQ_LONG(coroscope_id(), 0);
    coroscope_co *co[NIDS];
    uint64_t handle_id[NIDS], seen[NIDS];
    for (int i = 0; i < NIDS; i++) {
        REQUIRE(coroscope_spawn(&co[i], "id", my_id, NULL) == 0);
        handle_id[i] = coroscope_co_id(co[i]);
    }
    uint64_t max = 0;
    for (int i = 0; i < NIDS; i++) {
        void *r = NULL;
        CHECK_EQ_ERR(coroscope_join(co[i], &r), 0);
        seen[i] = (uintptr_t)r;
        CHECK_NE_LONG(seen[i], 0);
        CHECK_EQ_LONG(seen[i], handle_id[i]); /* coroscope_co_id names the same coroutine */
        for (int j = 0; j < i; j++) CHECK_NE_LONG(seen[i], seen[j]);
        if (seen[i] > max) max = seen[i];
    }
    CHECK_EQ_LONG(coroscope_id(), 0);
    /* ids are never reused, even after the coroutines were joined */
    coroscope_co *later;
    REQUIRE(coroscope_spawn(&later, "later", my_id, NULL) == 0);
    CHECK_GT_LONG(coroscope_co_id(later), max);
    CHECK_EQ_ERR(coroscope_join(later, NULL), 0);
}

/* ---- many coroutines, nested spawns ------------------------------------------ */

static void *square_after_yields(void *arg)
{
    long v = (long)(intptr_t)arg;
    for (int i = 0; i < 3; i++) coroscope_yield();
    return (void *)(intptr_t)(v * v);
}

static void *spawn_children(void *arg)
{
    long n = (long)(intptr_t)arg, sum = 0;
    coroscope_co *kids[100];
    for (long i = 0; i < n; i++)
        REQUIRE(coroscope_spawn(&kids[i], "kid", square_after_yields, (void *)(intptr_t)i) == 0);
    for (long i = 0; i < n; i++) {
        void *r;
        CHECK_EQ_ERR(coroscope_join(kids[i], &r), 0);
        sum += (long)(intptr_t)r;
    }
    return (void *)(intptr_t)sum;
}

TEST(coroutines_spawned_by_coroutines_run_and_are_joined_on_every_worker)
{
    enum { PARENTS = 20, KIDS = 100 };
    coroscope_co *p[PARENTS];
    for (int i = 0; i < PARENTS; i++)
        REQUIRE(coroscope_spawn(&p[i], "parent", spawn_children, (void *)(intptr_t)KIDS) == 0);
    long expected = (long)(KIDS - 1) * KIDS * (2 * KIDS - 1) / 6;
    for (int i = 0; i < PARENTS; i++) {
        void *r = NULL;
        CHECK_EQ_ERR(coroscope_join(p[i], &r), 0);
        CHECK_EQ_LONG((long)(intptr_t)r, expected);
    }
}

/* ---- configuration --------------------------------------------------------- */

typedef struct hook_probe {
    _Atomic int in_sleep, witness_saw_sleep;
} hook_probe;

static void *hook_witness(void *arg)
{
    hook_probe *p = arg;
    atomic_store(&p->witness_saw_sleep, atomic_load(&p->in_sleep));
    return NULL;
}

/* Did a 50 ms nanosleep in a coroutine let a witness run on the same worker? */
static void *sleep_with_witness(void *arg)
{
    hook_probe *p = arg;
    coroscope_co *w;
    REQUIRE(coroscope_spawn(&w, "witness", hook_witness, p) == 0);
    atomic_store(&p->in_sleep, 1);
    struct timespec ts = {0, 50 * MS};
    CHECK_EQ_LONG(nanosleep(&ts, NULL), 0);
    atomic_store(&p->in_sleep, 0);
    CHECK_EQ_ERR(coroscope_join(w, NULL), 0);
    return NULL;
}

static int sleep_parks(void)
{
    hook_probe p = {0};
    run_in_coroutine(sleep_with_witness, &p);
    return atomic_load(&p.witness_saw_sleep);
}

TEST(configure_after_the_first_spawn_refuses_workers_stack_and_migrate_with_ebusy_but_accepts_hooks)
{
    configure_workers(1);
    CHECK(sleep_parks()); /* the runtime is started, hooks on */

    coroscope_config before, c, after;
    REQUIRE(coroscope_config_get(&before) == 0);
    CHECK_EQ_LONG(before.workers, 1);
    CHECK_EQ_LONG(before.hooks, 1);

    c = before;
    c.workers = 2;
    CHECK_EQ_ERR(coroscope_configure(&c), EBUSY);
    c = before;
    c.stack_size = before.stack_size * 2;
    CHECK_EQ_ERR(coroscope_configure(&c), EBUSY);
    c = before;
    c.migrate = !before.migrate;
    CHECK_EQ_ERR(coroscope_configure(&c), EBUSY);
    /* EBUSY changes nothing, not even the fields that could change */
    c = before;
    c.workers = 2;
    c.hooks = 0;
    CHECK_EQ_ERR(coroscope_configure(&c), EBUSY);
    REQUIRE(coroscope_config_get(&after) == 0);
    CHECK_EQ_LONG(after.workers, 1);
    CHECK_EQ_LONG(after.stack_size, before.stack_size);
    CHECK_EQ_LONG(after.migrate, before.migrate);
    CHECK_EQ_LONG(after.hooks, 1);

    /* hooks (and preempt, time slice) change at any time, with effect */
    c = before;
    c.hooks = 0;
    c.time_slice_ns = 20 * MS;
    CHECK_EQ_ERR(coroscope_configure(&c), 0);
    REQUIRE(coroscope_config_get(&after) == 0);
    CHECK_EQ_LONG(after.hooks, 0);
    CHECK_EQ_LONG(after.time_slice_ns, 20 * MS);
    CHECK(!sleep_parks()); /* hooks off: the sleep blocked the only worker */

    c.hooks = 1;
    CHECK_EQ_ERR(coroscope_configure(&c), 0);
    CHECK(sleep_parks());
}

TEST(configure_rejects_out_of_range_values_with_einval_and_changes_nothing)
{
    coroscope_config before, after;
    REQUIRE(coroscope_config_get(&before) == 0);
    long page = sysconf(_SC_PAGESIZE);
    struct {
        const char *what;
        coroscope_config cfg;
    } bad[] = {
        {"workers 0", before}, {"workers 257", before},    {"stack 8K", before}, {"stack not page multiple", before},
        {"stack 2G", before},  {"time slice 1us", before}, {"hooks 2", before},  {"preempt -1", before},
        {"migrate 3", before},
    };
    bad[0].cfg.workers = 0;
    bad[1].cfg.workers = 257;
    bad[2].cfg.stack_size = 8 * 1024;
    bad[3].cfg.stack_size = 64 * 1024 + (size_t)page / 2;
    bad[4].cfg.stack_size = 2048ul * 1024 * 1024;
    bad[5].cfg.time_slice_ns = 1000;
    bad[6].cfg.hooks = 2;
    bad[7].cfg.preempt = -1;
    bad[8].cfg.migrate = 3;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = coroscope_configure(&bad[i].cfg);
        if (rc != EINVAL)
            cs_test_fail(__FILE__, __LINE__, "configure with %s returned %s, expected EINVAL", bad[i].what,
                         cs_errname(rc));
    }
    CHECK_EQ_ERR(coroscope_configure(NULL), EINVAL);
    CHECK_EQ_ERR(coroscope_config_get(NULL), EINVAL);
    REQUIRE(coroscope_config_get(&after) == 0);
    CHECK_EQ_LONG(after.workers, before.workers);
    CHECK_EQ_LONG(after.stack_size, before.stack_size);
    CHECK_EQ_LONG(after.time_slice_ns, before.time_slice_ns);
    CHECK_EQ_LONG(after.hooks, before.hooks);
    CHECK_EQ_LONG(after.preempt, before.preempt);
    CHECK_EQ_LONG(after.migrate, before.migrate);
}

TEST(the_default_configuration_is_the_documented_one)
{
    /* coroscope.h: workers = online cores, 256 KiB stacks, 10 ms slice,
     * hooks and preemption on, migration off (the test runner clears every
     * COROSCOPE_* variable) */
    coroscope_config c;
    REQUIRE(coroscope_config_get(&c) == 0);
    CHECK_EQ_LONG(c.workers, sysconf(_SC_NPROCESSORS_ONLN));
    CHECK_EQ_LONG(c.stack_size, 256 * 1024);
    CHECK_EQ_LONG(c.time_slice_ns, 10 * MS);
    CHECK_EQ_LONG(c.hooks, 1);
    CHECK_EQ_LONG(c.preempt, 1);
    CHECK_EQ_LONG(c.migrate, 0);
}

/* ---- stack frames across switches ------------------------------------------- */

#define FRAME_COS   64
#define FRAME_DEPTH 12
static _Atomic int frames_damaged;

/* Each level keeps an address-taken array (a frame ASan may place on its
 * fake stack) and checks it after the coroutine was switched out below it.
 * With a jmp_buf, the deepest level leaves all of them with longjmp (a
 * noreturn call: ASan then drops the fake frames below the jump target). */
__attribute__((noinline)) static int nested_frames(int depth, int seed, jmp_buf *out)
{
    volatile int mine[24];
    for (int i = 0; i < 24; i++) mine[i] = seed * 131 + depth * 24 + i;
    int r = depth ? nested_frames(depth - 1, seed, out) : 0;
    if (depth % 4 == 0) coroscope_yield();
    if (!depth && out) longjmp(*out, 1);
    for (int i = 0; i < 24; i++)
        if (mine[i] != seed * 131 + depth * 24 + i) atomic_store(&frames_damaged, 1);
    return r + mine[depth % 24];
}

static void *dive_and_yield(void *arg)
{
    int seed = (int)(intptr_t)arg;
    for (int k = 0; k < 300; k++) {
        jmp_buf jb;
        if (seed % 4 == 0 && setjmp(jb)) continue; /* back from the deepest level */
        nested_frames(FRAME_DEPTH, seed * 1000 + k, seed % 4 == 0 ? &jb : NULL);
    }
    return NULL;
}

/* Under ASan (make asan) this also checks that ASan follows the switches
 * (san.h): without that, a longjmp in one coroutine frees the fake frames of
 * coroutines switched out on other stacks, a false use-after-return. */
TEST(coroutines_switched_out_deep_in_calls_find_every_frame_intact_when_they_resume)
{
    configure_workers(2);
    coroscope_co *cos[FRAME_COS];
    for (int i = 0; i < FRAME_COS; i++)
        REQUIRE(coroscope_spawn(&cos[i], "frames", dive_and_yield, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < FRAME_COS; i++) CHECK_EQ_ERR(coroscope_join(cos[i], NULL), 0);
    CHECK(!atomic_load(&frames_damaged));
}

/* ---- errno ---------------------------------------------------------------- */

static _Atomic int step;

static void *errno_a(void *arg)
{
    (void)arg;
    errno = 1234;
    atomic_store(&step, 1);
    while (atomic_load(&step) != 2) /* let B set its errno */
        coroscope_yield();
    CHECK_EQ_LONG(errno, 1234);
    atomic_store(&step, 3);
    return NULL;
}

static void *errno_b(void *arg)
{
    (void)arg;
    while (atomic_load(&step) != 1) coroscope_yield();
    errno = 42;
    atomic_store(&step, 2);
    while (atomic_load(&step) != 3) /* A checks its errno */
        coroscope_yield();
    CHECK_EQ_LONG(errno, 42);
    return NULL;
}

TEST(errno_is_preserved_per_coroutine_across_a_yield)
{
    /* one worker: both coroutines share one thread, hence one errno */
    configure_workers(1);
    coroscope_co *a, *b;
    REQUIRE(coroscope_spawn(&a, "errno_a", errno_a, NULL) == 0);
    REQUIRE(coroscope_spawn(&b, "errno_b", errno_b, NULL) == 0);
    CHECK_EQ_ERR(coroscope_join(a, NULL), 0);
    CHECK_EQ_ERR(coroscope_join(b, NULL), 0);
    CHECK_EQ_LONG(atomic_load(&step), 3);
}

static void *errno_sleeper(void *arg)
{
    long mine = (long)(intptr_t)arg;
    errno = (int)mine;
    struct timespec ts = {0, (mine % 5 + 1) * 10 * MS};
    for (int i = 0; i < 3; i++) {
        nanosleep(&ts, NULL);
        coroscope_yield();
        CHECK_EQ_LONG(errno, mine);
    }
    return NULL;
}

TEST(errno_is_preserved_per_coroutine_across_parking_sleeps)
{
    configure_workers(1);
    enum { N = 10 };
    coroscope_co *co[N];
    for (int i = 0; i < N; i++)
        REQUIRE(coroscope_spawn(&co[i], "errno_sleeper", errno_sleeper, (void *)(intptr_t)(1000 + i)) == 0);
    for (int i = 0; i < N; i++) CHECK_EQ_ERR(coroscope_join(co[i], NULL), 0);
}

static void *spin_then_return(void *arg)
{
    uint64_t until = now_ns() + (uint64_t)(intptr_t)arg * 1000;
    while (now_ns() < until)
        ;
    return NULL;
}

TEST(the_api_never_sets_the_callers_errno)
{
    /* coroscope.h: every function returns 0 or an errno value; none sets errno */
    coroscope_co *co;
    coroscope_config c;
    errno = 4321;
    CHECK_EQ_ERR(coroscope_config_get(&c), 0);
    CHECK_EQ_ERR(coroscope_configure(&c), 0);
    CHECK_EQ_ERR(coroscope_spawn(&co, "slow", slow_then_flag, NULL), 0); /* starts the runtime */
    CHECK_EQ_ERR(coroscope_join(co, NULL), 0);
    CHECK_EQ_LONG(errno, 4321);
    CHECK_EQ_ERR(coroscope_join(co, NULL), EINVAL);
    CHECK_EQ_ERR(coroscope_configure(NULL), EINVAL);
    CHECK_EQ_LONG(errno, 4321);
    /* plain-thread joins racing with the end of the coroutine: coroutines
     * that spin 0..30 us end around the moment the join starts waiting */
    for (int i = 0; i < 5000; i++) {
        REQUIRE(coroscope_spawn(&co, "quick", spin_then_return, (void *)(intptr_t)((i * 7) % 31)) == 0);
        CHECK_EQ_ERR(coroscope_join(co, NULL), 0);
    }
    CHECK_EQ_LONG(errno, 4321);
}

/* ---- wake-ups across workers ------------------------------------------------ */

static void *nap_2ms(void *arg)
{
    struct timespec ts = {0, 2 * MS};
    nanosleep(&ts, NULL);
    return arg;
}

static void *join_fifty_nappers(void *arg)
{
    coroscope_co *co[50];
    for (int i = 0; i < 50; i++) REQUIRE(coroscope_spawn(&co[i], "nap", nap_2ms, NULL) == 0);
    for (int i = 0; i < 50; i++) CHECK_EQ_ERR(coroscope_join(co[i], NULL), 0);
    return arg;
}

static _Atomic int wake_round, wake_finished;

static void *wake_watchdog(void *arg)
{
    (void)arg;
    int last = -1;
    uint64_t since = now_ns();
    while (!atomic_load(&wake_finished)) {
        usleep(20000);
        int r = atomic_load(&wake_round);
        if (r != last) {
            last = r, since = now_ns();
        } else if (now_ns() - since > 3000 * MS) {
            cs_test_fail(__FILE__, __LINE__,
                         "round %d has not finished after 3 s (a round takes a few ms): a coroutine woken "
                         "from another worker was never resumed (lost wake-up)",
                         r);
            cs_test_abort();
        }
    }
    return NULL;
}

TEST(a_coroutine_woken_by_another_worker_is_always_resumed)
{
    /* A coroutine joins 50 short sleepers; idle workers steal some, so most
     * joins are completed, and the joiner woken, from the other worker. */
    configure_workers(2);
    pthread_t dog;
    REQUIRE(pthread_create(&dog, NULL, wake_watchdog, NULL) == 0);
    uint64_t t0 = now_ns();
    for (int i = 0; now_ns() - t0 < 3000 * MS; i++) {
        atomic_store(&wake_round, i);
        run_in_coroutine(join_fifty_nappers, NULL);
    }
    atomic_store(&wake_finished, 1);
    pthread_join(dog, NULL);
}

static _Atomic int usr1_count;
static void on_usr1(int sig)
{
    (void)sig;
    atomic_fetch_add(&usr1_count, 1);
}

static void *poke_main(void *arg)
{
    pthread_t main_thread = *(pthread_t *)arg;
    for (int i = 0; i < 3; i++) {
        usleep(40000);
        pthread_kill(main_thread, SIGUSR1);
    }
    return NULL;
}

/* Sleeps until 300 ms from now even if signal handlers interrupt the sleep. */
static void *sleep_300ms(void *arg)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += 300 * MS;
    until.tv_sec += until.tv_nsec / 1000000000;
    until.tv_nsec %= 1000000000;
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
        ;
    return arg;
}

TEST(join_on_a_plain_thread_interrupted_by_a_signal_handler_keeps_waiting_and_leaves_errno_alone)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART: interrupted waits fail with EINTR */
    sigemptyset(&sa.sa_mask);
    REQUIRE(sigaction(SIGUSR1, &sa, NULL) == 0);
    coroscope_co *co;
    REQUIRE(coroscope_spawn(&co, "sleep_300ms", sleep_300ms, (void *)9) == 0);
    pthread_t self = pthread_self(), poker;
    REQUIRE(pthread_create(&poker, NULL, poke_main, &self) == 0);
    uint64_t t0 = now_ns();
    void *res = NULL;
    errno = 4321;
    int rc = coroscope_join(co, &res);
    int e = errno;
    uint64_t waited = now_ns() - t0;
    pthread_join(poker, NULL);
    CHECK_EQ_ERR(rc, 0);
    CHECK_EQ_LONG((uintptr_t)res, 9);
    CHECK_GE_LONG(waited, 250 * MS); /* the handler did not end the join early */
    CHECK_EQ_LONG(atomic_load(&usr1_count), 3);
    CHECK_EQ_LONG(e, 4321);
}

/* ---- FP control belongs to each coroutine ----------------------------------------------- */

static unsigned read_mxcsr(void)
{
    unsigned mx;
    __asm__ volatile("stmxcsr %0" : "=m"(mx));
    return mx;
}

static void write_mxcsr(unsigned mx)
{
    __asm__ volatile("ldmxcsr %0" : : "m"(mx));
}

static unsigned short read_fpucw(void)
{
    unsigned short cw;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    return cw;
}

static void write_fpucw(unsigned short cw)
{
    __asm__ volatile("fldcw %0" : : "m"(cw));
}

typedef struct fp_mode_job {
    unsigned rounding; /* 0..3, applied to SSE and x87 */
    int raise_inexact; /* do an inexact operation after setting the mode */
    _Atomic int *bad;
} fp_mode_job;

static void *fp_mode_body(void *arg)
{
    fp_mode_job *j = arg;
    unsigned mx = (read_mxcsr() & ~0x603fu) | (j->rounding << 13); /* clear flags, set RC */
    write_mxcsr(mx);
    write_fpucw((unsigned short)((read_fpucw() & ~0xc00u) | (j->rounding << 10)));
    if (j->raise_inexact) {
        volatile double one = 1.0, three = 3.0;
        volatile double q = one / three; /* sets the precision (inexact) flag */
        (void)q;
    }
    unsigned want_mx = read_mxcsr();
    unsigned short want_cw = read_fpucw();
    for (int i = 0; i < 2000; i++) {
        coroscope_yield();
        if (read_mxcsr() != want_mx || read_fpucw() != want_cw) atomic_fetch_add(j->bad, 1);
    }
    return NULL;
}

static void *fp_report_defaults(void *arg)
{
    unsigned *out = arg;
    out[0] = read_mxcsr();
    out[1] = read_fpucw();
    return NULL;
}

TEST(each_coroutine_keeps_its_own_rounding_mode_and_exception_flags_across_cooperative_switches)
{
    configure_workers(1);
    _Atomic int bad = 0;
    fp_mode_job jobs[4] = {{0, 0, &bad}, {1, 1, &bad}, {2, 0, &bad}, {3, 1, &bad}};
    coroscope_co *co[4];
    for (int i = 0; i < 4; i++) REQUIRE(coroscope_spawn(&co[i], "fp-mode", fp_mode_body, &jobs[i]) == 0);
    for (int i = 0; i < 4; i++) CHECK_EQ_LONG(coroscope_join(co[i], NULL), 0);
    CHECK_EQ_LONG(atomic_load(&bad), 0);
    /* A coroutine started afterwards on the same worker sees the defaults:
     * nothing leaked into the worker. */
    unsigned seen[2];
    run_in_coroutine(fp_report_defaults, seen);
    CHECK_EQ_LONG(seen[0] & 0xffc0u, 0x1f80u); /* masks and rounding: the default */
    CHECK_EQ_LONG(seen[1], 0x037f);
}
