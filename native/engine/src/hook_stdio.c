/*
 * hook_stdio.c — fread, fwrite, fgets, getline, getdelim, fflush, fgetc,
 * getc and the FORTIFY twins __fread_chk, __fgets_chk: observed as calls
 * with their durations, inside coroutines and out.
 *
 * Why: glibc's stdio reads and writes through its internal __read/__write,
 * never through the PLT, so a program reading a file with fread left no
 * call in the trace at all. These hooks record the stdio call itself (fd:
 * the stream's fileno, -1 for streams without one; argument summary: the
 * bytes asked for). They run the call inline on the calling thread: a
 * stream's lock and buffer belong to the program (and to the worker
 * thread, for a coroutine). Inside a coroutine, a read call that finds the
 * buffer of a regular file's stream empty first asks hook_file.c
 * (cs_stdio_refill) to bring the range its refill will read into the page
 * cache on the offload pool if it is not there (the coroutine parks; the
 * CALL says parked), so the refill that follows does not wait for the
 * device on the worker. Writes (fwrite, fflush) stay inline: they land in
 * the page cache.
 * fgetc/getc are recorded only when the stream's read buffer is empty (the
 * calls that go to the kernel); one per character would flood the trace.
 *
 * Results in CALL a2: items for fread/fwrite, the line's length for fgets
 * (-1: NULL), the return value for the others; errno (a3) only when the
 * stream's error indicator is set after the call.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "hook.h"

static int stream_fd(FILE *fp)
{
    return fp ? fp->_fileno : -1;
}

int cs_stdio_refill(cs_co *co, int hook, FILE *fp, size_t want);

/* Observe a stdio call that has just returned `ret` (after taking t0). */
static void stdio_observe_parked(int hook, FILE *fp, cs_co *co, uint64_t t0, long ret, int parked)
{
    cs_observer_fn f = atomic_load_explicit(&cs_observer, memory_order_relaxed);
    if (!f) return;
    int e = errno;
    int err = fp && ferror_unlocked(fp) ? e : 0;
    if (co) {
        cs_observe(hook, stream_fd(fp), 1, parked, ret, err);
    } else {
        uint64_t t1 = cs_now_ns();
        cs_call c = {hook, stream_fd(fp), 0, 0, ret, err, t0 ? t1 - t0 : 0, cs_tls.call_arg, 0, t1};
        cs_tls.call_arg = 0;
        f(&c);
    }
    errno = e;
}

static void stdio_observe(int hook, FILE *fp, cs_co *co, uint64_t t0, long ret)
{
    stdio_observe_parked(hook, fp, co, t0, ret, 0);
}

/* Inside a coroutine: fetch a cold refill on the pool first (1: it parked). */
static int refill(cs_co *co, int hook, FILE *fp, size_t want)
{
    return co ? cs_stdio_refill(co, hook, fp, want) : 0;
}

static uint64_t entry_time(cs_co *co)
{
    return !co && atomic_load_explicit(&cs_observer, memory_order_relaxed) ? cs_now_ns() : 0;
}

static uint64_t mul_sat(size_t a, size_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : (uint64_t)a * b;
}

static CS_SLOW size_t fread_hooked(void *buf, size_t size, size_t n, FILE *fp)
{
    cs_tls.call_arg = mul_sat(size, n);
    cs_co *co = cs_hook_co();
    uint64_t t0 = entry_time(co);
    int parked = refill(co, CS_HOOK_fread, fp, (size_t)cs_tls.call_arg);
    size_t r = cs_real.fread(buf, size, n, fp);
    stdio_observe_parked(CS_HOOK_fread, fp, co, t0, (long)r, parked);
    return r;
}

CS_EXPORT size_t fread(void *buf, size_t size, size_t n, FILE *fp)
{
    CS_FAST_PASS(fread, (buf, size, n, fp));
    return fread_hooked(buf, size, n, fp);
}

static CS_SLOW size_t __fread_chk_hooked(void *buf, size_t buflen, size_t size, size_t n, FILE *fp)
{
    cs_tls.call_arg = mul_sat(size, n);
    cs_co *co = cs_hook_co();
    uint64_t t0 = entry_time(co);
    int parked = refill(co, CS_HOOK___fread_chk, fp, (size_t)cs_tls.call_arg);
    size_t r = cs_real.__fread_chk(buf, buflen, size, n, fp);
    stdio_observe_parked(CS_HOOK___fread_chk, fp, co, t0, (long)r, parked);
    return r;
}

CS_EXPORT size_t __fread_chk(void *buf, size_t buflen, size_t size, size_t n, FILE *fp)
{
    CS_FAST_PASS(__fread_chk, (buf, buflen, size, n, fp));
    return __fread_chk_hooked(buf, buflen, size, n, fp);
}

static CS_SLOW size_t fwrite_hooked(const void *buf, size_t size, size_t n, FILE *fp)
{
    cs_tls.call_arg = mul_sat(size, n);
    cs_co *co = cs_hook_co();
    uint64_t t0 = entry_time(co);
    size_t r = cs_real.fwrite(buf, size, n, fp);
    stdio_observe(CS_HOOK_fwrite, fp, co, t0, (long)r);
    return r;
}

CS_EXPORT size_t fwrite(const void *buf, size_t size, size_t n, FILE *fp)
{
    CS_FAST_PASS(fwrite, (buf, size, n, fp));
    return fwrite_hooked(buf, size, n, fp);
}

static CS_SLOW char *fgets_hooked(char *s, int n, FILE *fp)
{
    cs_tls.call_arg = n > 0 ? (uint64_t)n : 0;
    cs_co *co = cs_hook_co();
    uint64_t t0 = entry_time(co);
    int parked = refill(co, CS_HOOK_fgets, fp, 0);
    char *r = cs_real.fgets(s, n, fp);
    stdio_observe_parked(CS_HOOK_fgets, fp, co, t0, r ? (long)strlen(r) : -1, parked);
    return r;
}

CS_EXPORT char *fgets(char *s, int n, FILE *fp)
{
    CS_FAST_PASS(fgets, (s, n, fp));
    return fgets_hooked(s, n, fp);
}

static CS_SLOW char *__fgets_chk_hooked(char *s, size_t size, int n, FILE *fp)
{
    cs_tls.call_arg = n > 0 ? (uint64_t)n : 0;
    cs_co *co = cs_hook_co();
    uint64_t t0 = entry_time(co);
    int parked = refill(co, CS_HOOK___fgets_chk, fp, 0);
    char *r = cs_real.__fgets_chk(s, size, n, fp);
    stdio_observe_parked(CS_HOOK___fgets_chk, fp, co, t0, r ? (long)strlen(r) : -1, parked);
    return r;
}

CS_EXPORT char *__fgets_chk(char *s, size_t size, int n, FILE *fp)
{
    CS_FAST_PASS(__fgets_chk, (s, size, n, fp));
    return __fgets_chk_hooked(s, size, n, fp);
}

static CS_SLOW ssize_t getline_hooked(char **line, size_t *cap, FILE *fp)
{
    cs_tls.call_arg = 0;
    cs_co *co = cs_hook_co();
    uint64_t t0 = entry_time(co);
    int parked = refill(co, CS_HOOK_getline, fp, 0);
    ssize_t r = cs_real.getline(line, cap, fp);
    stdio_observe_parked(CS_HOOK_getline, fp, co, t0, (long)r, parked);
    return r;
}

CS_EXPORT ssize_t getline(char **line, size_t *cap, FILE *fp)
{
    CS_FAST_PASS(getline, (line, cap, fp));
    return getline_hooked(line, cap, fp);
}

static CS_SLOW ssize_t getdelim_hooked(char **line, size_t *cap, int delim, FILE *fp)
{
    cs_tls.call_arg = 0;
    cs_co *co = cs_hook_co();
    uint64_t t0 = entry_time(co);
    int parked = refill(co, CS_HOOK_getdelim, fp, 0);
    ssize_t r = cs_real.getdelim(line, cap, delim, fp);
    stdio_observe_parked(CS_HOOK_getdelim, fp, co, t0, (long)r, parked);
    return r;
}

CS_EXPORT ssize_t getdelim(char **line, size_t *cap, int delim, FILE *fp)
{
    CS_FAST_PASS(getdelim, (line, cap, delim, fp));
    return getdelim_hooked(line, cap, delim, fp);
}

static CS_SLOW int fflush_hooked(FILE *fp)
{
    cs_tls.call_arg = 0;
    cs_co *co = cs_hook_co();
    uint64_t t0 = entry_time(co);
    int r = cs_real.fflush(fp);
    stdio_observe(CS_HOOK_fflush, fp, co, t0, r);
    return r;
}

CS_EXPORT int fflush(FILE *fp)
{
    CS_FAST_PASS(fflush, (fp));
    return fflush_hooked(fp);
}

/* fgetc/getc: only a call that finds the read buffer empty is recorded (a
 * racy peek at the stream's buffer pointers, used for that choice only). */
static int buffered(FILE *fp)
{
    return fp && fp->_IO_read_ptr < fp->_IO_read_end;
}

#define GETC_HOOK(name)                                              \
    static CS_SLOW int name##_hooked(FILE *fp)                       \
    {                                                                \
        if (buffered(fp)) return cs_real.name(fp);                   \
        cs_tls.call_arg = 1;                                         \
        cs_co *co = cs_hook_co();                                    \
        uint64_t t0 = entry_time(co);                                \
        int parked = refill(co, CS_HOOK_##name, fp, 1);              \
        int r = cs_real.name(fp);                                    \
        stdio_observe_parked(CS_HOOK_##name, fp, co, t0, r, parked); \
        return r;                                                    \
    }                                                                \
    CS_EXPORT int name(FILE *fp)                                     \
    {                                                                \
        CS_FAST_PASS(name, (fp));                                    \
        return name##_hooked(fp);                                    \
    }
GETC_HOOK(fgetc)
GETC_HOOK(getc)
