/* SQLite inside coroutines (hook_file.c): 5 coroutines on one worker each
 * run transactions on their own database file (synchronous=FULL, rollback
 * journal: every commit reads, writes and syncs), while a ticker coroutine
 * sleeps 2 ms at a time and measures how late it wakes.
 *
 *   sqlite_co DIR [TRANSACTIONS]
 * Prints per coroutine "db I rows N sum S", then the calls SQLite made
 * through its unix VFS ("calls pread64 N pwrite64 M", counted by wrapping
 * its system-call table) and "ticker worst_late_ms X ticks T".
 */
#include <coroscope.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NCO 5

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *dir;
static int transactions = 20;
static volatile int running = NCO;
static uint64_t worst_late, ticks;
static long preads, pwrites;

typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
static pread_fn real_pread64;
static pwrite_fn real_pwrite64;

static ssize_t counting_pread64(int fd, void *b, size_t n, off_t o)
{
    preads++;
    return real_pread64(fd, b, n, o);
}
static ssize_t counting_pwrite64(int fd, const void *b, size_t n, off_t o)
{
    pwrites++;
    return real_pwrite64(fd, b, n, o);
}

static void *ticker(void *arg)
{
    (void)arg;
    while (running > 0) {
        uint64_t t = now_ns();
        usleep(2000);
        uint64_t late = now_ns() - t - 2000000;
        if ((int64_t)late > 0 && late > worst_late) worst_late = late;
        ticks++;
    }
    return NULL;
}

static int exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, err ? err : "?");
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    char path[4096];
    snprintf(path, sizeof path, "%s/db%d.sqlite", dir, id);
    sqlite3 *db;
    void *fail = (void *)1;
    if (sqlite3_open(path, &db) != SQLITE_OK) goto out;
    if (exec(db, "PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL; PRAGMA cache_size=10;"
                 "CREATE TABLE t(k INTEGER PRIMARY KEY, v INTEGER, pad TEXT)"))
        goto close;
    for (int i = 0; i < transactions; i++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "BEGIN; INSERT INTO t(v, pad) VALUES(%d, printf('%%0500d', %d)); INSERT INTO t(v, pad) "
                 "VALUES(%d, printf('%%0500d', %d)); COMMIT;",
                 i, i, id * 1000 + i, i);
        if (exec(db, sql)) goto close;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT count(*), sum(v) FROM t", -1, &st, NULL) != SQLITE_OK) goto close;
    if (sqlite3_step(st) == SQLITE_ROW) {
        printf("db %d rows %lld sum %lld\n", id, (long long)sqlite3_column_int64(st, 0),
               (long long)sqlite3_column_int64(st, 1));
        fail = NULL;
    }
    sqlite3_finalize(st);
close:
    sqlite3_close(db);
out:
    __atomic_fetch_sub(&running, 1, __ATOMIC_SEQ_CST);
    return fail;
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    dir = argv[1];
    if (argc > 2) transactions = atoi(argv[2]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    sqlite3_initialize();
    sqlite3_vfs *vfs = sqlite3_vfs_find("unix");
    real_pread64 = (pread_fn)vfs->xGetSystemCall(vfs, "pread64");
    real_pwrite64 = (pwrite_fn)vfs->xGetSystemCall(vfs, "pwrite64");
    if (!real_pread64 || !real_pwrite64 || vfs->xSetSystemCall(vfs, "pread64", (sqlite3_syscall_ptr)counting_pread64) ||
        vfs->xSetSystemCall(vfs, "pwrite64", (sqlite3_syscall_ptr)counting_pwrite64))
        return 3;
    coroscope_co *t, *w[NCO];
    if (coroscope_spawn(&t, "ticker", ticker, NULL)) return 2;
    for (int i = 0; i < NCO; i++) {
        char name[16];
        snprintf(name, sizeof name, "sqlite%d", i);
        if (coroscope_spawn(&w[i], name, worker, (void *)(intptr_t)i)) return 2;
    }
    int bad = 0;
    for (int i = 0; i < NCO; i++) {
        void *r;
        coroscope_join(w[i], &r);
        bad |= r != NULL;
    }
    coroscope_join(t, NULL);
    printf("calls pread64 %ld pwrite64 %ld\n", preads, pwrites);
    printf("ticker worst_late_ms %.2f ticks %llu\n", worst_late / 1e6, (unsigned long long)ticks);
    return bad;
}
