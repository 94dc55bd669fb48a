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
    for (size_t i = 0; i < N; i++)
        w[i] = pat(i);
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
