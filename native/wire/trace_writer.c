/*
 * trace_writer.c — trace file writer (reader.h), format 2 by default, format
 * 1 on request (cs_trace_writer_opts.format).
 *
 * Records collect in a buffer that starts with room for a v1 chunk header;
 * (v2) a batch of more than a quarter chunk that finds the buffer empty is
 * encoded from the caller's memory instead (whole chunks, then the rest as
 * a smaller chunk); a full (or flushed) chunk is encoded (v2: trace_v2.c, columns + zstd; v1:
 * the records as they are, with their header and CRCs) and goes out with one
 * write(2) (looping only on short writes), so a crash leaves at most one
 * partial chunk at the end. No fsync: durability is the kernel's. The index
 * grows in memory (one entry per chunk) and is written, followed by the
 * footer, on close. One thread at a time (the recorder's, or the addon's
 * reader thread).
 */
#include "reader.h"
#include "trace_v2.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct cs_trace_writer {
    int fd, own_fd;
    int format;         /* 1 or 2 */
    cs_v2_encoder *enc; /* format 2 */
    uint32_t chunk_records;
    char *chunk;          /* cs_chunk_header + chunk_records records */
    uint32_t n;           /* records in the open chunk */
    uint32_t has_strings; /* CS_CHUNK_HAS_STRINGS if the open chunk holds some */
    uint64_t first_ts, last_ts;
    uint64_t offset; /* file offset of the next chunk */
    uint64_t total;
    cs_v2_index_entry *index; /* both formats; v1 writes its 32-byte form */
    uint32_t nindex, index_cap;
    cs_trace_err status;
};

static int werr(cs_trace_writer *w, int code, int sys, const char *what)
{
    if (w->status.code) return w->status.code;
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
            if (errno == EINTR) continue;
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
    if (!err) err = &dummy;
    memset(err, 0, sizeof *err);
    cs_trace_writer_opts o = {0};
    if (opts) o = *opts;
    int format = o.format ? (int)o.format : CS_TRACE_DEFAULT_FORMAT;
    if (!out || o.chunk_records > CS_CHUNK_MAX_RECORDS || (format != 1 && format != 2) || o.zstd_level < 0 ||
        o.zstd_level > 22) {
        err->code = CS_TRACE_EINVAL;
        snprintf(err->msg, sizeof err->msg, "cs_trace_writer: %s",
                 !out                                     ? "no result pointer"
                 : o.chunk_records > CS_CHUNK_MAX_RECORDS ? "chunk_records above CS_CHUNK_MAX_RECORDS"
                 : format != 1 && format != 2             ? "format is 1 or 2"
                                                          : "zstd_level is 0..22");
        return err->code;
    }
    *out = NULL;
    cs_trace_writer *w = calloc(1, sizeof *w);
    uint32_t cr = o.chunk_records ? o.chunk_records : format == 2 ? CS_V2_DEFAULT_CHUNK_RECORDS : 1024;
    char *chunk = malloc(sizeof(cs_chunk_header) + (size_t)cr * COROSCOPE_EVENT_SIZE);
    if (!w || !chunk || (format == 2 && cs_v2_encoder_new(&w->enc, o.zstd_level))) {
        if (w) cs_v2_encoder_free(w->enc);
        free(w);
        free(chunk);
        err->code = CS_TRACE_ENOMEM;
        snprintf(err->msg, sizeof err->msg, "cs_trace_writer: out of memory");
        return err->code;
    }
    w->format = format;
    w->fd = fd;
    w->chunk_records = cr;
    w->chunk = chunk;
    cs_trace_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, CS_TRACE_MAGIC, 8);
    h.version_major = (uint16_t)format;
    h.version_minor = format == 2 ? CS_TRACE_V2_MINOR : CS_TRACE_VERSION_MINOR;
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
        cs_v2_encoder_free(w->enc);
        free(chunk);
        free(w);
        return CS_TRACE_EIO;
    }
    w->offset = sizeof h;
    *out = w;
    return 0;
}

int cs_trace_writer_create(cs_trace_writer **out, const char *path, const cs_trace_writer_opts *opts, cs_trace_err *err)
{
    cs_trace_err dummy;
    if (!err) err = &dummy;
    memset(err, 0, sizeof *err);
    if (!out || !path) {
        err->code = CS_TRACE_EINVAL;
        snprintf(err->msg, sizeof err->msg, "cs_trace_writer_create: NULL argument");
        return err->code;
    }
    *out = NULL;
    /* A trace holds the program's command line, its strings and what it did:
     * private to its user (0600), like the engine's COROSCOPE_TRACE file; an
     * existing file being overwritten is made private too. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        err->code = CS_TRACE_EIO;
        err->sys_errno = errno;
        snprintf(err->msg, sizeof err->msg, "%s: %s", path, strerror(errno));
        return err->code;
    }
    (void)fchmod(fd, 0600); /* not ours to chmod (a shared file we may write): left as it is */
    int rc = cs_trace_writer_open_fd(out, fd, opts, err);
    if (rc) {
        close(fd);
        return rc;
    }
    (*out)->own_fd = 1;
    return 0;
}

/* Encode records [ev, ev + n) as one chunk and write it. ev is the open
 * chunk's buffer (flush), or the caller's records (a whole chunk appended
 * to an empty one: no copy); first/last/has_strings describe them. */
static int put_chunk(cs_trace_writer *w, const coroscope_event *ev, uint32_t n, uint64_t first_ts, uint64_t last_ts,
                     uint32_t has_strings)
{
    if (w->nindex == w->index_cap) {
        uint32_t ncap = w->index_cap ? w->index_cap * 2 : 64;
        cs_v2_index_entry *ni = realloc(w->index, ncap * sizeof *ni);
        if (!ni) return werr(w, CS_TRACE_ENOMEM, ENOMEM, "growing the index");
        w->index = ni;
        w->index_cap = ncap;
    }
    const void *bytes;
    size_t size;
    if (w->format == 2) {
        char why[200];
        int rc = cs_v2_encode_chunk(w->enc, ev, n, &bytes, &size, why, sizeof why);
        if (rc) {
            werr(w, rc == ENOMEM ? CS_TRACE_ENOMEM : CS_TRACE_EIO, rc, "encoding a chunk");
            snprintf(w->status.msg, sizeof w->status.msg, "encoding a chunk at offset %llu: %s",
                     (unsigned long long)w->offset, why);
            return w->status.code;
        }
    } else {
        /* v1: the header right before the records, one write (ev is the chunk buffer's) */
        uint64_t payload = (uint64_t)n * COROSCOPE_EVENT_SIZE;
        cs_chunk_header h = {.magic = CS_CHUNK_MAGIC, .nrecords = n, .first_ts = first_ts, .last_ts = last_ts};
        h.payload_crc = cs_crc32(0, ev, payload);
        h.header_crc = cs_crc32(0, &h, 28);
        memcpy(w->chunk, &h, sizeof h);
        bytes = w->chunk;
        size = sizeof h + payload;
    }
    int e = write_all(w->fd, bytes, size);
    if (e) return werr(w, CS_TRACE_EIO, e, "writing a chunk");
    w->index[w->nindex++] = (cs_v2_index_entry){.offset = w->offset,
                                                .size = size,
                                                .first_ts = first_ts,
                                                .last_ts = last_ts,
                                                .nrecords = n,
                                                .flags = has_strings};
    w->offset += size;
    w->total += n;
    return 0;
}

int cs_trace_writer_flush(cs_trace_writer *w)
{
    if (!w) return CS_TRACE_EINVAL;
    if (w->status.code) return w->status.code;
    if (w->n == 0) return 0;
    int rc = put_chunk(w, (const coroscope_event *)(w->chunk + sizeof(cs_chunk_header)), w->n, w->first_ts, w->last_ts,
                       w->has_strings);
    if (rc) return rc;
    w->n = 0;
    w->has_strings = 0;
    return 0;
}

int cs_trace_writer_append(cs_trace_writer *w, const coroscope_event *ev, size_t n)
{
    if (!w || (!ev && n)) return CS_TRACE_EINVAL;
    if (w->status.code) return w->status.code;
    size_t i = 0;
    while (i < n) {
        if (w->n == 0 && w->format == 2 && n - i >= w->chunk_records / 4 + 1) {
            /* Enough for a chunk with nothing open: encoded from the
             * caller's records, without copying them (a 64-byte copy per
             * record was a tenth of the recorder's time): whole chunks,
             * then what is left if that is more than a quarter chunk. */
            uint32_t take = n - i < w->chunk_records ? (uint32_t)(n - i) : w->chunk_records;
            const coroscope_event *c = ev + i;
            uint64_t first = c[0].ts, last = c[0].ts;
            uint32_t strings = 0;
            for (uint32_t k = 0; k < take; k++) {
                if (c[k].ts < first) first = c[k].ts;
                if (c[k].ts > last) last = c[k].ts;
                if (c[k].kind == COROSCOPE_EV_STRING || c[k].kind == COROSCOPE_EV_STRING_MORE)
                    strings = CS_CHUNK_HAS_STRINGS;
            }
            int rc = put_chunk(w, c, take, first, last, strings);
            if (rc) return rc;
            i += take;
            continue;
        }
        if (w->n == 0) w->first_ts = w->last_ts = ev[i].ts;
        if (ev[i].ts < w->first_ts) w->first_ts = ev[i].ts;
        if (ev[i].ts > w->last_ts) w->last_ts = ev[i].ts;
        if (ev[i].kind == COROSCOPE_EV_STRING || ev[i].kind == COROSCOPE_EV_STRING_MORE)
            w->has_strings = CS_CHUNK_HAS_STRINGS;
        memcpy(w->chunk + sizeof(cs_chunk_header) + (size_t)w->n * COROSCOPE_EVENT_SIZE, &ev[i], COROSCOPE_EVENT_SIZE);
        if (++w->n == w->chunk_records) {
            int rc = cs_trace_writer_flush(w);
            if (rc) return rc;
        }
        i++;
    }
    return 0;
}

int cs_trace_writer_string(cs_trace_writer *w, uint64_t id, const char *text, size_t len, uint64_t ts, uint16_t worker,
                           uint32_t tid)
{
    if (!w || id == 0 || (!text && len)) return CS_TRACE_EINVAL;
    size_t off = 0;
    do {
        coroscope_event e = {
            .ts = ts, .kind = off ? COROSCOPE_EV_STRING_MORE : COROSCOPE_EV_STRING, .worker = worker, .tid = tid};
        e.a[0] = id;
        e.a[1] = off ? off : len;
        size_t k = len - off < 24 ? len - off : 24;
        if (k) memcpy(&e.a[2], text + off, k);
        int rc = cs_trace_writer_append(w, &e, 1);
        if (rc) return rc;
        off += k;
    } while (off < len);
    return 0;
}

static void writer_free(cs_trace_writer *w)
{
    if (w->own_fd) close(w->fd);
    cs_v2_encoder_free(w->enc);
    free(w->chunk);
    free(w->index);
    free(w);
}

int cs_trace_writer_close(cs_trace_writer *w, cs_trace_err *err)
{
    if (!w) return CS_TRACE_EINVAL;
    int rc = cs_trace_writer_flush(w);
    if (!rc) {
        size_t esize = w->format == 2 ? sizeof(cs_v2_index_entry) : sizeof(cs_index_entry);
        size_t isize = sizeof(cs_index_header) + (size_t)w->nindex * esize;
        char *buf = malloc(isize + sizeof(cs_trace_footer));
        if (!buf) {
            rc = werr(w, CS_TRACE_ENOMEM, ENOMEM, "writing the index");
        } else {
            cs_index_header ih = {.magic = w->format == 2 ? CS_V2_INDEX_MAGIC : CS_INDEX_MAGIC, .count = w->nindex};
            memcpy(buf, &ih, sizeof ih);
            for (uint32_t i = 0; i < w->nindex; i++) {
                const cs_v2_index_entry *x = &w->index[i];
                if (w->format == 2) {
                    memcpy(buf + sizeof ih + i * esize, x, esize);
                } else {
                    cs_index_entry v1 = {.offset = x->offset,
                                         .first_ts = x->first_ts,
                                         .last_ts = x->last_ts,
                                         .nrecords = x->nrecords,
                                         .flags = x->flags};
                    memcpy(buf + sizeof ih + i * esize, &v1, esize);
                }
            }
            cs_trace_footer f = {.index_offset = w->offset, .total_records = w->total, .index_count = w->nindex};
            memcpy(f.magic, CS_FOOTER_MAGIC, 8);
            f.crc = cs_crc32(cs_crc32(0, buf, isize), &f, 28);
            memcpy(buf + isize, &f, sizeof f);
            int e = write_all(w->fd, buf, isize + sizeof f);
            free(buf);
            if (e) rc = werr(w, CS_TRACE_EIO, e, "writing the index");
        }
    }
    if (w->own_fd && close(w->fd) && !rc) rc = werr(w, CS_TRACE_EIO, errno, "closing the trace");
    w->own_fd = 0;
    if (err) *err = w->status;
    writer_free(w);
    return rc;
}

void cs_trace_writer_abandon(cs_trace_writer *w)
{
    if (w) writer_free(w);
}

const cs_trace_err *cs_trace_writer_status(const cs_trace_writer *w)
{
    return &w->status;
}
uint64_t cs_trace_writer_bytes(const cs_trace_writer *w)
{
    return w ? w->offset : 0;
}
