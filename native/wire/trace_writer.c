/*
 * trace_writer.c — trace file writer (reader.h).
 *
 * Records collect in a buffer that starts with room for the chunk header;
 * a full (or flushed) chunk gets its header and CRCs and goes out with one
 * write(2) (looping only on short writes), so a crash leaves at most one
 * partial chunk at the end. No fsync: durability is the kernel's. The index
 * grows in memory (one entry per chunk) and is written, followed by the
 * footer, on close.
 */
#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct cs_trace_writer {
    int fd, own_fd;
    uint32_t chunk_records;
    char *chunk;                  /* cs_chunk_header + chunk_records records */
    uint32_t n;                   /* records in the open chunk */
    uint32_t has_strings;         /* CS_CHUNK_HAS_STRINGS if the open chunk holds some */
    uint64_t first_ts, last_ts;
    uint64_t offset;              /* file offset of the next chunk */
    uint64_t total;
    cs_index_entry *index;
    uint32_t nindex, index_cap;
    cs_trace_err status;
};

static int werr(cs_trace_writer *w, int code, int sys, const char *what)
{
    if (w->status.code)
        return w->status.code;
    w->status.code = code;
    w->status.sys_errno = sys;
    w->status.offset = w->offset;
    snprintf(w->status.msg, sizeof w->status.msg, "%s at offset %llu: %s", what, (unsigned long long)w->offset,
             sys ? strerror(sys) : "failed");
    return code;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

static uint64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int cs_trace_writer_open_fd(cs_trace_writer **out, int fd, const cs_trace_writer_opts *opts, cs_trace_err *err)
{
    cs_trace_err dummy;
    if (!err)
        err = &dummy;
    memset(err, 0, sizeof *err);
    cs_trace_writer_opts o = {0};
    if (opts)
        o = *opts;
    if (!out || o.chunk_records > CS_CHUNK_MAX_RECORDS) {
        err->code = CS_TRACE_EINVAL;
        snprintf(err->msg, sizeof err->msg, "cs_trace_writer: %s",
                 out ? "chunk_records above CS_CHUNK_MAX_RECORDS" : "no result pointer");
        return err->code;
    }
    *out = NULL;
    cs_trace_writer *w = calloc(1, sizeof *w);
    uint32_t cr = o.chunk_records ? o.chunk_records : 1024;
    char *chunk = malloc(sizeof(cs_chunk_header) + (size_t)cr * COROSCOPE_EVENT_SIZE);
    if (!w || !chunk) {
        free(w);
        free(chunk);
        err->code = CS_TRACE_ENOMEM;
        snprintf(err->msg, sizeof err->msg, "cs_trace_writer: out of memory");
        return err->code;
    }
    w->fd = fd;
    w->chunk_records = cr;
    w->chunk = chunk;
    cs_trace_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, CS_TRACE_MAGIC, 8);
    h.version_major = CS_TRACE_VERSION_MAJOR;
    h.version_minor = CS_TRACE_VERSION_MINOR;
    h.header_size = CS_TRACE_HEADER_SIZE;
    h.record_size = COROSCOPE_EVENT_SIZE;
    h.events_version = COROSCOPE_EVENTS_VERSION;
    h.pid = o.pid ? o.pid : (uint32_t)getpid();
    if (o.mono_ns || o.real_ns) {
        h.mono_ns = o.mono_ns;
        h.real_ns = o.real_ns;
    } else {
        h.mono_ns = clock_ns(CLOCK_MONOTONIC);
        h.real_ns = clock_ns(CLOCK_REALTIME);
    }
    h.flags = o.flags;
    h.crc = cs_crc32(0, &h, 60);
    int e = write_all(fd, &h, sizeof h);
    if (e) {
        *err = (cs_trace_err){.code = CS_TRACE_EIO, .sys_errno = e};
        snprintf(err->msg, sizeof err->msg, "writing the trace header: %s", strerror(e));
        free(chunk);
        free(w);
        return CS_TRACE_EIO;
    }
    w->offset = sizeof h;
    *out = w;
    return 0;
}

int cs_trace_writer_create(cs_trace_writer **out, const char *path, const cs_trace_writer_opts *opts,
                           cs_trace_err *err)
{
    cs_trace_err dummy;
    if (!err)
        err = &dummy;
    memset(err, 0, sizeof *err);
    if (!out || !path) {
        err->code = CS_TRACE_EINVAL;
        snprintf(err->msg, sizeof err->msg, "cs_trace_writer_create: NULL argument");
        return err->code;
    }
    *out = NULL;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        err->code = CS_TRACE_EIO;
        err->sys_errno = errno;
        snprintf(err->msg, sizeof err->msg, "%s: %s", path, strerror(errno));
        return err->code;
    }
    int rc = cs_trace_writer_open_fd(out, fd, opts, err);
    if (rc) {
        close(fd);
        return rc;
    }
    (*out)->own_fd = 1;
    return 0;
}

int cs_trace_writer_flush(cs_trace_writer *w)
{
    if (!w)
        return CS_TRACE_EINVAL;
    if (w->status.code)
        return w->status.code;
    if (w->n == 0)
        return 0;
    if (w->nindex == w->index_cap) {
        uint32_t ncap = w->index_cap ? w->index_cap * 2 : 64;
        cs_index_entry *ni = realloc(w->index, ncap * sizeof *ni);
        if (!ni)
            return werr(w, CS_TRACE_ENOMEM, ENOMEM, "growing the index");
        w->index = ni;
        w->index_cap = ncap;
    }
    uint64_t payload = (uint64_t)w->n * COROSCOPE_EVENT_SIZE;
    cs_chunk_header h = {.magic = CS_CHUNK_MAGIC, .nrecords = w->n, .first_ts = w->first_ts, .last_ts = w->last_ts};
    h.payload_crc = cs_crc32(0, w->chunk + sizeof h, payload);
    h.header_crc = cs_crc32(0, &h, 28);
    memcpy(w->chunk, &h, sizeof h);
    int e = write_all(w->fd, w->chunk, sizeof h + payload);
    if (e)
        return werr(w, CS_TRACE_EIO, e, "writing a chunk");
    w->index[w->nindex++] = (cs_index_entry){.offset = w->offset, .first_ts = w->first_ts, .last_ts = w->last_ts,
                                             .nrecords = w->n, .flags = w->has_strings};
    w->offset += sizeof h + payload;
    w->total += w->n;
    w->n = 0;
    w->has_strings = 0;
    return 0;
}

int cs_trace_writer_append(cs_trace_writer *w, const coroscope_event *ev, size_t n)
{
    if (!w || (!ev && n))
        return CS_TRACE_EINVAL;
    if (w->status.code)
        return w->status.code;
    for (size_t i = 0; i < n; i++) {
        if (w->n == 0)
            w->first_ts = w->last_ts = ev[i].ts;
        if (ev[i].ts < w->first_ts)
            w->first_ts = ev[i].ts;
        if (ev[i].ts > w->last_ts)
            w->last_ts = ev[i].ts;
        if (ev[i].kind == COROSCOPE_EV_STRING || ev[i].kind == COROSCOPE_EV_STRING_MORE)
            w->has_strings = CS_CHUNK_HAS_STRINGS;
        memcpy(w->chunk + sizeof(cs_chunk_header) + (size_t)w->n * COROSCOPE_EVENT_SIZE, &ev[i],
               COROSCOPE_EVENT_SIZE);
        if (++w->n == w->chunk_records) {
            int rc = cs_trace_writer_flush(w);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int cs_trace_writer_string(cs_trace_writer *w, uint64_t id, const char *text, size_t len, uint64_t ts,
                           uint16_t worker, uint32_t tid)
{
    if (!w || id == 0 || (!text && len))
        return CS_TRACE_EINVAL;
    size_t off = 0;
    do {
        coroscope_event e = {.ts = ts, .kind = off ? COROSCOPE_EV_STRING_MORE : COROSCOPE_EV_STRING,
                             .worker = worker, .tid = tid};
        e.a[0] = id;
        e.a[1] = off ? off : len;
        size_t k = len - off < 24 ? len - off : 24;
        if (k)
            memcpy(&e.a[2], text + off, k);
        int rc = cs_trace_writer_append(w, &e, 1);
        if (rc)
            return rc;
        off += k;
    } while (off < len);
    return 0;
}

static void writer_free(cs_trace_writer *w)
{
    if (w->own_fd)
        close(w->fd);
    free(w->chunk);
    free(w->index);
    free(w);
}

int cs_trace_writer_close(cs_trace_writer *w, cs_trace_err *err)
{
    if (!w)
        return CS_TRACE_EINVAL;
    int rc = cs_trace_writer_flush(w);
    if (!rc) {
        size_t isize = sizeof(cs_index_header) + (size_t)w->nindex * sizeof(cs_index_entry);
        char *buf = malloc(isize + sizeof(cs_trace_footer));
        if (!buf) {
            rc = werr(w, CS_TRACE_ENOMEM, ENOMEM, "writing the index");
        } else {
            cs_index_header ih = {.magic = CS_INDEX_MAGIC, .count = w->nindex};
            memcpy(buf, &ih, sizeof ih);
            if (w->nindex)
                memcpy(buf + sizeof ih, w->index, (size_t)w->nindex * sizeof(cs_index_entry));
            cs_trace_footer f = {.index_offset = w->offset, .total_records = w->total, .index_count = w->nindex};
            memcpy(f.magic, CS_FOOTER_MAGIC, 8);
            f.crc = cs_crc32(cs_crc32(0, buf, isize), &f, 28);
            memcpy(buf + isize, &f, sizeof f);
            int e = write_all(w->fd, buf, isize + sizeof f);
            free(buf);
            if (e)
                rc = werr(w, CS_TRACE_EIO, e, "writing the index");
        }
    }
    if (w->own_fd && close(w->fd) && !rc)
        rc = werr(w, CS_TRACE_EIO, errno, "closing the trace");
    w->own_fd = 0;
    if (err)
        *err = w->status;
    writer_free(w);
    return rc;
}

void cs_trace_writer_abandon(cs_trace_writer *w)
{
    if (w)
        writer_free(w);
}

const cs_trace_err *cs_trace_writer_status(const cs_trace_writer *w) { return &w->status; }
