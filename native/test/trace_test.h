/*
 * trace_test.h — what the trace file tests share (test_trace.c, format 1;
 * test_trace_v2.c, format 2): an in-memory file, reading one back whole
 * through the public reader API, and a deterministic random source. Static
 * helpers for one test program each; include after cs_test.h and
 * wire/reader.h.
 */
#ifndef CS_TRACE_TEST_H
#define CS_TRACE_TEST_H

#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int memfile(const void *p, size_t n)
{
    int fd = memfd_create("trace", MFD_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(n == 0 || pwrite(fd, p, n, 0) == (ssize_t)n);
    return fd;
}

static size_t slurp(int fd, char **out)
{
    struct stat st;
    REQUIRE(fstat(fd, &st) == 0);
    char *b = malloc((size_t)st.st_size + 1);
    REQUIRE(b);
    REQUIRE(pread(fd, b, (size_t)st.st_size, 0) == st.st_size);
    *out = b;
    return (size_t)st.st_size;
}

typedef struct readback {
    coroscope_event *ev;
    size_t n;
    cs_trace_err status;
    cs_trace_info info;
    int open_rc;
} readback;

static readback read_all_fd(int fd, unsigned flags)
{
    readback rb = {0};
    cs_reader *r;
    rb.open_rc = cs_reader_open_fd(&r, fd, flags, &rb.status);
    if (rb.open_rc) return rb;
    rb.info = *cs_reader_info(r);
    size_t cap = 1024;
    rb.ev = malloc(cap * sizeof *rb.ev);
    coroscope_event e;
    while (cs_reader_next(r, &e) == 1) {
        if (rb.n == cap) rb.ev = realloc(rb.ev, (cap *= 2) * sizeof *rb.ev);
        rb.ev[rb.n++] = e;
    }
    rb.status = *cs_reader_status(r);
    cs_reader_close(r);
    return rb;
}

static readback read_all_bytes(const char *p, size_t n, unsigned flags)
{
    int fd = memfile(p, n);
    readback rb = read_all_fd(fd, flags);
    close(fd);
    return rb;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* ev[0..n) written to a new in-memory trace of the given format (1 or 2),
 * chunk_records per chunk; closed cleanly, or flushed and abandoned (as a
 * killed writer leaves it). The fd, at any position. */
static int write_format(int format, const coroscope_event *ev, size_t n, uint32_t chunk_records, int close_it)
{
    int fd = memfile(NULL, 0);
    cs_trace_writer *w;
    cs_trace_err err;
    cs_trace_writer_opts o = {
        .format = format, .pid = 4242, .mono_ns = 5, .real_ns = 7, .chunk_records = chunk_records};
    REQUIRE(cs_trace_writer_open_fd(&w, fd, &o, &err) == 0);
    REQUIRE(cs_trace_writer_append(w, ev, n) == 0);
    if (close_it) {
        REQUIRE(cs_trace_writer_close(w, &err) == 0);
    } else {
        REQUIRE(cs_trace_writer_flush(w) == 0);
        cs_trace_writer_abandon(w);
    }
    return fd;
}

static int same_events(const coroscope_event *a, const coroscope_event *b, size_t n)
{
    return n == 0 || memcmp(a, b, n * sizeof *a) == 0;
}

#endif
