/*
 * test_file.c — regular-file calls inside coroutines (hook_file.c) give what
 * the same calls give on a plain thread: transfers, the file position,
 * EOF, and the errors (EBADF, EINVAL, ESPIPE, EISDIR, ENOENT), with reads
 * and writes that go through the offload pool as well as reads served from
 * the page cache.
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "hook_compare.h"

typedef struct file_ctx {
    char path[64];
    outcome open_rw, pwrite_at, pread_back, pread_eof, pread_neg, write_pos, read_pos, lseek_end;
    outcome readv_pos, preadv_at, pwritev_at, fsync_ok, fdatasync_ok;
    outcome pread_badf, pwrite_badf, fsync_badf, pread_pipe, read_dir, open_missing, stat_ok, fstat_ok, lstat_missing;
    outcome fstatat_ok;
    char got[32], gotv[16];
    long size;
} file_ctx;

static void *file_scenario(void *arg)
{
    file_ctx *c = arg;
    int fd = open(c->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    c->open_rw = (outcome){fd >= 0 ? 0 : -1, fd >= 0 ? 0 : errno};
    c->pwrite_at = OUTCOME(pwrite(fd, "hello world", 11, 4));
    memset(c->got, 0, sizeof c->got);
    c->pread_back = OUTCOME(pread(fd, c->got, sizeof c->got, 0)); /* 4 zero bytes, then the text */
    c->pread_eof = OUTCOME(pread(fd, c->got + 20, 4, 100));
    c->pread_neg = OUTCOME(pread(fd, c->got, 4, -1));
    c->write_pos = OUTCOME(write(fd, "ABC", 3)); /* at the file position: 0 */
    c->lseek_end = OUTCOME(lseek(fd, 0, SEEK_CUR));
    char buf[8] = {0};
    c->read_pos = OUTCOME(read(fd, buf, 5)); /* from 3 */
    char a[3], b[4];
    struct iovec v[2] = {{a, sizeof a}, {b, sizeof b}};
    c->readv_pos = OUTCOME(readv(fd, v, 2)); /* from 8: "o world" */
    memcpy(c->gotv, a, 3);
    memcpy(c->gotv + 3, b, 4);
    struct iovec w[2] = {{"xy", 2}, {"z", 1}};
    c->pwritev_at = OUTCOME(pwritev(fd, w, 2, 20));
    struct iovec r1 = {buf, 3};
    c->preadv_at = OUTCOME(preadv(fd, &r1, 1, 20));
    c->fsync_ok = OUTCOME(fsync(fd));
    c->fdatasync_ok = OUTCOME(fdatasync(fd));
    struct stat st;
    c->fstat_ok = OUTCOME(fstat(fd, &st));
    c->size = (long)st.st_size;
    c->stat_ok = OUTCOME(stat(c->path, &st));
    c->fstatat_ok = OUTCOME(fstatat(AT_FDCWD, c->path, &st, 0));
    c->lstat_missing = OUTCOME(lstat("/nonexistent/coroscope-test", &st));
    close(fd);
    c->pread_badf = OUTCOME(pread(fd, buf, 1, 0));
    c->pwrite_badf = OUTCOME(pwrite(fd, "x", 1, 0));
    c->fsync_badf = OUTCOME(fsync(fd));
    int p[2];
    if (pipe(p) == 0) {
        c->pread_pipe = OUTCOME(pread(p[0], buf, 1, 0));
        close(p[0]);
        close(p[1]);
    }
    int d = open("/", O_RDONLY | O_DIRECTORY);
    c->read_dir = OUTCOME(read(d, buf, 1));
    close(d);
    c->open_missing = OUTCOME(open("/nonexistent/coroscope-test", O_RDONLY));
    unlink(c->path);
    return NULL;
}

TEST(file_calls_in_a_coroutine_give_the_results_and_errors_of_the_plain_calls)
{
    configure_workers(1);
    file_ctx t = {0}, c = {0};
    snprintf(t.path, sizeof t.path, "/tmp/cs-test-file-t-%d", (int)getpid());
    snprintf(c.path, sizeof c.path, "/tmp/cs-test-file-c-%d", (int)getpid());
    run_on_thread(file_scenario, &t);
    run_in_coroutine(file_scenario, &c);
    CHECK_OUTCOME(c.open_rw, 0, 0);
    CHECK_OUTCOME(c.pwrite_at, 11, 0);
    CHECK_OUTCOME(c.pread_back, 15, 0);
    CHECK(memcmp(c.got, "\0\0\0\0hello world", 15) == 0);
    CHECK_OUTCOME(c.pread_eof, 0, 0);
    CHECK_OUTCOME(c.pread_neg, -1, EINVAL);
    CHECK_OUTCOME(c.write_pos, 3, 0);
    CHECK_OUTCOME(c.lseek_end, 3, 0);
    CHECK_OUTCOME(c.read_pos, 5, 0);
    CHECK_OUTCOME(c.readv_pos, 7, 0);
    CHECK(memcmp(c.gotv, "o world", 7) == 0);
    CHECK_OUTCOME(c.pwritev_at, 3, 0);
    CHECK_OUTCOME(c.preadv_at, 3, 0);
    CHECK_OUTCOME(c.fsync_ok, 0, 0);
    CHECK_OUTCOME(c.fdatasync_ok, 0, 0);
    CHECK_EQ_LONG(c.size, 23);
    CHECK_OUTCOME(c.pread_badf, -1, EBADF);
    CHECK_OUTCOME(c.pwrite_badf, -1, EBADF);
    CHECK_OUTCOME(c.fsync_badf, -1, EBADF);
    CHECK_OUTCOME(c.pread_pipe, -1, ESPIPE);
    CHECK_OUTCOME(c.read_dir, -1, EISDIR);
    CHECK_OUTCOME(c.open_missing, -1, ENOENT);
    CHECK_OUTCOME(c.lstat_missing, -1, ENOENT);
    outcome *to = &t.open_rw, *co = &c.open_rw;
    for (size_t i = 0; i < (offsetof(file_ctx, got) - offsetof(file_ctx, open_rw)) / sizeof(outcome); i++)
        CHECK_SAME_OUTCOME(to[i], co[i]);
    CHECK(memcmp(t.got, c.got, sizeof t.got) == 0);
    CHECK(memcmp(t.gotv, c.gotv, sizeof t.gotv) == 0);
    CHECK_EQ_LONG(t.size, c.size);
}

/* A big transfer that crosses the page cache and the pool: every byte. */
typedef struct big_ctx {
    char path[64];
    long wrote, read;
    int same;
} big_ctx;

static void *big_scenario(void *arg)
{
    big_ctx *c = arg;
    enum { N = 8 << 20 };
    unsigned char *w = malloc(N), *r = malloc(N);
    for (size_t i = 0; i < N; i++) w[i] = pat(i);
    int fd = open(c->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    c->wrote = (long)pwrite(fd, w, N, 0);
    fdatasync(fd);
    /* The second half must come from the device, the first is still cached:
     * the page cache serves part of the read, the pool the rest. */
    posix_fadvise(fd, N / 2, N / 2, POSIX_FADV_DONTNEED);
    c->read = (long)pread(fd, r, N, 0);
    c->same = memcmp(w, r, N) == 0;
    close(fd);
    unlink(c->path);
    free(w);
    free(r);
    return NULL;
}

TEST(an_8_mib_read_half_from_the_page_cache_half_from_the_device_in_a_coroutine_returns_every_byte)
{
    configure_workers(1);
    big_ctx c = {0};
    snprintf(c.path, sizeof c.path, "/tmp/cs-test-big-%d", (int)getpid());
    run_in_coroutine(big_scenario, &c);
    CHECK_EQ_LONG(c.wrote, 8 << 20);
    CHECK_EQ_LONG(c.read, 8 << 20);
    CHECK(c.same);
}

/* ---- path calls and stdio refills that would wait: parked on the pool -------------------------- */

#include <coroscope_events.h>

/* The observer API (engine/src/hook.h cs_call, leading fields). */
typedef struct {
    int hook, fd, in_co, parked;
    long ret;
    int err;
} obs_call;
void coroscope__set_call_observer(void (*)(const obs_call *));

#define MAX_OBS 65536
static obs_call obs[MAX_OBS];
static _Atomic int nobs;

static void record(const obs_call *c)
{
    if (!c->in_co) return;
    int i = atomic_fetch_add(&nobs, 1);
    if (i < MAX_OBS) obs[i] = *c;
}

/* Calls of hook (schema id) seen since the observer was set, and how many parked. */
static int seen(int schema_hook, int *parked)
{
    int n = 0;
    *parked = 0;
    for (int i = 0; i < atomic_load(&nobs) && i < MAX_OBS; i++)
        if (obs[i].hook == schema_hook - 1) {
            n++;
            *parked += obs[i].parked;
        }
    return n;
}

typedef struct meta_ctx {
    char dir[64];
    outcome stat_fresh, stat_again, open_fresh, open_again, stat_known, open_known, creat, lstat_fresh, fstatat_fresh;
    int parked_stat_fresh, parked_stat_again, parked_open_fresh, parked_open_again, parked_known, parked_creat;
} meta_ctx;

/* Parked calls of schema hook made by fn's last call (the observer counts from 0). */
#define PARKED_BY(ctxfield, schema_hook, expr) \
    do {                                       \
        atomic_store(&nobs, 0);                \
        expr;                                  \
        int p_;                                \
        seen(schema_hook, &p_);                \
        c->ctxfield = p_;                      \
    } while (0)

static void *meta_scenario(void *arg)
{
    meta_ctx *c = arg;
    char p[128], known[128];
    struct stat st;
    snprintf(known, sizeof known, "%s/known", c->dir);
    /* Names never looked up before: not in the dentry cache (the lookup must ask the filesystem). */
    snprintf(p, sizeof p, "%s/fresh-stat-%d", c->dir, (int)getpid());
    PARKED_BY(parked_stat_fresh, COROSCOPE_HOOK_stat, c->stat_fresh = OUTCOME(stat(p, &st)));
    PARKED_BY(parked_stat_again, COROSCOPE_HOOK_stat,
              c->stat_again = OUTCOME(stat(p, &st))); /* now cached (negative) */
    snprintf(p, sizeof p, "%s/fresh-open-%d", c->dir, (int)getpid());
    PARKED_BY(parked_open_fresh, COROSCOPE_HOOK_open, c->open_fresh = OUTCOME(open(p, O_RDONLY)));
    PARKED_BY(parked_open_again, COROSCOPE_HOOK_open, c->open_again = OUTCOME(open(p, O_RDONLY)));
    snprintf(p, sizeof p, "%s/fresh-lstat-%d", c->dir, (int)getpid());
    c->lstat_fresh = OUTCOME(lstat(p, &st));
    snprintf(p, sizeof p, "fresh-fstatat-%d", (int)getpid());
    int dfd = open(c->dir, O_RDONLY | O_DIRECTORY);
    c->fstatat_fresh = OUTCOME(fstatat(dfd, p, &st, AT_SYMLINK_NOFOLLOW));
    close(dfd);
    PARKED_BY(parked_known, COROSCOPE_HOOK_stat, c->stat_known = OUTCOME(stat(known, &st)));
    int fd = open(known, O_RDONLY);
    c->open_known = (outcome){fd >= 0 ? 0 : -1, fd >= 0 ? 0 : errno};
    if (fd >= 0) close(fd);
    snprintf(p, sizeof p, "%s/created", c->dir);
    PARKED_BY(parked_creat, COROSCOPE_HOOK_open, fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    c->creat = (outcome){fd >= 0 ? 0 : -1, fd >= 0 ? 0 : errno};
    if (fd >= 0) close(fd);
    return NULL;
}

static void meta_dir(meta_ctx *c, const char *who)
{
    snprintf(c->dir, sizeof c->dir, "/tmp/cs-test-meta-%s-%d", who, (int)getpid());
    REQUIRE(mkdir(c->dir, 0700) == 0);
    char known[128];
    snprintf(known, sizeof known, "%s/known", c->dir);
    int fd = open(known, O_WRONLY | O_CREAT, 0600);
    REQUIRE(fd >= 0);
    close(fd);
    struct stat st;
    REQUIRE(stat(known, &st) == 0); /* in the dentry cache now */
}

static void meta_cleanup(meta_ctx *c)
{
    char p[128];
    snprintf(p, sizeof p, "%s/known", c->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/created", c->dir);
    unlink(p);
    rmdir(c->dir);
}

TEST(a_stat_or_open_whose_lookup_is_not_cached_parks_on_the_pool_a_cached_one_runs_inline_with_the_plain_calls_answers)
{
    configure_workers(1);
    meta_ctx t = {0}, c = {0};
    meta_dir(&t, "t");
    meta_dir(&c, "c");
    coroscope__set_call_observer(record);
    run_on_thread(meta_scenario, &t);
    run_in_coroutine(meta_scenario, &c);
    coroscope__set_call_observer(NULL);
    for (meta_ctx *x = &t; x; x = x == &t ? &c : NULL) {
        CHECK_OUTCOME(x->stat_fresh, -1, ENOENT);
        CHECK_OUTCOME(x->stat_again, -1, ENOENT);
        CHECK_OUTCOME(x->open_fresh, -1, ENOENT);
        CHECK_OUTCOME(x->open_again, -1, ENOENT);
        CHECK_OUTCOME(x->lstat_fresh, -1, ENOENT);
        CHECK_OUTCOME(x->fstatat_fresh, -1, ENOENT);
        CHECK_OUTCOME(x->stat_known, 0, 0);
        CHECK_OUTCOME(x->open_known, 0, 0);
        CHECK_OUTCOME(x->creat, 0, 0);
    }
    CHECK_EQ_LONG(c.parked_stat_fresh, 1); /* the filesystem had to be asked: on the pool */
    CHECK_EQ_LONG(c.parked_open_fresh, 1);
    CHECK_EQ_LONG(c.parked_creat, 1);      /* creating may wait for the journal */
    CHECK_EQ_LONG(c.parked_stat_again, 0); /* the negative entry is cached now: inline */
    CHECK_EQ_LONG(c.parked_open_again, 0);
    CHECK_EQ_LONG(c.parked_known, 0);
    meta_cleanup(&t);
    meta_cleanup(&c);
}

typedef struct cold_ctx {
    char path[64];
    long bytes, lines;
    int same;
} cold_ctx;

#define COLD_SIZE (4 << 20)

static void drop_from_cache(const char *path)
{
    int fd = open(path, O_RDONLY);
    REQUIRE(fd >= 0);
    REQUIRE(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
    close(fd);
}

static void *cold_stdio(void *arg)
{
    cold_ctx *c = arg;
    FILE *f = fopen(c->path, "r");
    REQUIRE(f);
    char *buf = malloc(8192);
    c->same = 1;
    size_t got;
    while ((got = fread(buf, 1, 8192, f)) > 0) {
        for (size_t i = 0; i < got; i++)
            if (buf[i] != (char)('a' + (c->bytes + (long)i) % 26) && buf[i] != '\n') c->same = 0;
        c->bytes += (long)got;
    }
    fclose(f);
    drop_from_cache(c->path);
    f = fopen(c->path, "r");
    REQUIRE(f);
    char line[256];
    while (fgets(line, sizeof line, f)) c->lines++;
    fclose(f);
    free(buf);
    return NULL;
}

TEST(fread_and_fgets_on_a_file_dropped_from_the_page_cache_park_for_their_refills_and_read_every_byte)
{
    configure_workers(1);
    cold_ctx c = {0};
    snprintf(c.path, sizeof c.path, "/tmp/cs-test-cold-stdio-%d", (int)getpid());
    FILE *f = fopen(c.path, "w");
    REQUIRE(f);
    for (long i = 0; i < COLD_SIZE; i++) fputc(i % 100 == 99 ? '\n' : 'a' + (int)(i % 26), f);
    REQUIRE(fclose(f) == 0);
    int fd = open(c.path, O_RDONLY);
    fsync(fd);
    close(fd);
    drop_from_cache(c.path);
    coroscope__set_call_observer(record);
    atomic_store(&nobs, 0);
    run_in_coroutine(cold_stdio, &c);
    coroscope__set_call_observer(NULL);
    CHECK_EQ_LONG(c.bytes, COLD_SIZE);
    CHECK(c.same);
    CHECK_EQ_LONG(c.lines, (COLD_SIZE + 99) / 100); /* the last line is short */
    int pf, pg;
    int nf = seen(COROSCOPE_HOOK_fread, &pf), ng = seen(COROSCOPE_HOOK_fgets, &pg);
    CHECK_EQ_LONG(nf, COLD_SIZE / 8192 + 1);
    CHECK_GE_LONG(pf, 1);           /* refills from the device went to the pool */
    CHECK_EQ_LONG(ng, c.lines + 1); /* each line and the NULL at the end */
    CHECK_GE_LONG(pg, 1);
    CHECK_LT_LONG(pf, nf); /* ... not every call: the device read ahead */
    unlink(c.path);
}
