/*
 * fuzz_trace.c — libFuzzer target: the trace file reader (reader.h).
 *
 * Input: the bytes of a whole trace file. They go into a memfd, which is
 * opened with cs_reader_open_fd, once without flags and once skipping
 * unknown kinds and strings. Then the same again with every CRC the bytes
 * hold recomputed (the header's, each chunk's that can be walked to, the
 * index's and footer's), so that mutations also reach what the checksums
 * guard: chunk contents, strings, the index. Every record is read; strings are resolved as
 * the Node addon's TraceFile.read does (the ids of STRING records) and as
 * coroscope-dump does (any field may be a string id); the records read are
 * sorted with cs_events_sort; then the seek path (cs_reader_seek_time, with
 * or without the index) is taken to several times and read from again.
 *
 * Checked beyond "no crash, no leak, no undefined behaviour":
 *   - an open that fails returns its code, a NULL reader and a message;
 *   - a resolved string is NUL-terminated at its length;
 *   - a clean read of a file with an index returns exactly total_records;
 *   - reading again after seeking to time 0 returns the same records;
 *   - cs_events_sort leaves the records ordered by ts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "reader.h"

#define KEEP_MAX 4096 /* records kept for the sort and the re-read comparison */

typedef struct pass {
    uint64_t n;    /* records returned */
    uint64_t hash; /* of their bytes */
    int code;      /* status at the end */
} pass;

static void check_err(const cs_trace_err *e)
{
    FUZZ_CHECK(e->code >= 0 && e->code < CS_TRACE_CODE_COUNT);
    FUZZ_CHECK(memchr(e->msg, '\0', sizeof e->msg) != NULL);
    FUZZ_CHECK(cs_trace_code_name(e->code) != NULL);
    FUZZ_CHECK(e->code == CS_TRACE_OK || e->msg[0] != '\0');
}

static void resolve(cs_reader *r, uint64_t id)
{
    size_t len = 0;
    int complete = -1;
    const char *s = cs_reader_string(r, id, &len, &complete);
    if (!s) return;
    FUZZ_CHECK(id != 0);
    FUZZ_CHECK(complete == 0 || complete == 1);
    FUZZ_CHECK(s[len] == '\0');
    fuzz_touch(s, len);
}

/* Read up to `max` records (all: UINT64_MAX), resolving their strings. */
static pass read_records(cs_reader *r, uint64_t max, coroscope_event *keep, size_t *nkeep)
{
    pass p = {0};
    coroscope_event ev;
    while (p.n < max && cs_reader_next(r, &ev) == 1) {
        p.n++;
        p.hash = p.hash * 1000003u ^ fuzz_touch(&ev, sizeof ev);
        if (keep && *nkeep < KEEP_MAX) keep[(*nkeep)++] = ev;
        if (ev.kind == COROSCOPE_EV_STRING || ev.kind == COROSCOPE_EV_STRING_MORE) {
            resolve(r, ev.a[0]); /* TraceFile.read */
        } else {
            for (int i = 0; i < 5; i++) /* coroscope-dump: fields that may name strings */
                resolve(r, ev.a[i]);
            (void)cs_event_kind_name(ev.kind);
            (void)cs_hook_name((unsigned)ev.a[0]);
        }
    }
    const cs_trace_err *st = cs_reader_status(r);
    check_err(st);
    p.code = st->code;
    return p;
}

static void one_open(int fd, size_t size, unsigned flags)
{
    cs_reader *r = (cs_reader *)1;
    cs_trace_err err;
    int rc = cs_reader_open_fd(&r, fd, flags, &err);
    if (rc) {
        FUZZ_CHECK(r == NULL);
        FUZZ_CHECK(err.code == rc);
        check_err(&err);
        return;
    }
    FUZZ_CHECK(r != NULL);
    const cs_trace_info *info = cs_reader_info(r);
    FUZZ_CHECK(info->file_size == size);

    static coroscope_event keep[KEEP_MAX], tmp[KEEP_MAX];
    size_t nkeep = 0;
    pass first = read_records(r, UINT64_MAX, keep, &nkeep);
    if (flags == 0 && first.code == CS_TRACE_OK && info->has_index) FUZZ_CHECK(first.n == info->total_records);

    cs_events_sort(keep, nkeep, tmp);
    for (size_t i = 1; i < nkeep; i++) FUZZ_CHECK(keep[i - 1].ts <= keep[i].ts);

    /* Seek to 0: the same records again. */
    int src = cs_reader_seek_time(r, 0);
    FUZZ_CHECK(src >= 0 && src < CS_TRACE_CODE_COUNT);
    check_err(cs_reader_status(r));
    if (src == 0) {
        pass again = read_records(r, UINT64_MAX, NULL, NULL);
        if (first.code == CS_TRACE_OK && again.code == CS_TRACE_OK) {
            FUZZ_CHECK(again.n == first.n);
            FUZZ_CHECK(again.hash == first.hash);
        }
    }
    /* Seek to the times the file itself names, and past its end. */
    uint64_t times[4] = {UINT64_MAX, 1, 0, 0};
    if (nkeep) {
        times[2] = keep[nkeep / 2].ts;
        times[3] = keep[nkeep - 1].ts + 1;
    }
    for (int i = 0; i < 4; i++) {
        src = cs_reader_seek_time(r, times[i]);
        FUZZ_CHECK(src >= 0 && src < CS_TRACE_CODE_COUNT);
        (void)cs_reader_chunk_offset(r);
        read_records(r, 1000, NULL, NULL);
    }
    cs_reader_close(r);
}

/* Recompute the CRCs of b[0..n) in place where the layout can be followed. */
static void repair_crcs(uint8_t *b, size_t n)
{
    if (n < sizeof(cs_trace_header)) return;
    cs_trace_header h;
    memcpy(&h, b, sizeof h);
    h.crc = cs_crc32(0, &h, 60);
    memcpy(b, &h, sizeof h);
    uint64_t off = h.header_size >= sizeof h ? h.header_size : sizeof h;
    while (off + sizeof(cs_chunk_header) <= n) {
        cs_chunk_header c;
        memcpy(&c, b + off, sizeof c);
        uint64_t payload = (uint64_t)c.nrecords * COROSCOPE_EVENT_SIZE;
        if (c.magic != CS_CHUNK_MAGIC || c.nrecords == 0 || c.nrecords > CS_CHUNK_MAX_RECORDS ||
            off + sizeof c + payload > n)
            break;
        c.payload_crc = cs_crc32(0, b + off + sizeof c, payload);
        c.header_crc = cs_crc32(0, &c, 28);
        memcpy(b + off, &c, sizeof c);
        off += sizeof c + payload;
    }
    cs_trace_footer f;
    if (n < sizeof f) return;
    memcpy(&f, b + n - sizeof f, sizeof f);
    uint64_t isize = sizeof(cs_index_header) + (uint64_t)f.index_count * sizeof(cs_index_entry);
    if (f.index_offset <= n - sizeof f && isize == n - sizeof f - f.index_offset) {
        f.crc = cs_crc32(cs_crc32(0, b + f.index_offset, isize), &f, 28);
        memcpy(b + n - sizeof f, &f, sizeof f);
    }
}

static void read_file_bytes(const uint8_t *data, size_t size)
{
    int fd = fuzz_memfd("fuzz-trace", data, size);
    if (fd < 0) return;
    one_open(fd, size, 0);
    one_open(fd, size, CS_READ_SKIP_UNKNOWN | CS_READ_SKIP_STRINGS);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_file_bytes(data, size);
    uint8_t *fixed = malloc(size ? size : 1);
    if (!fixed) return 0;
    memcpy(fixed, data, size);
    repair_crcs(fixed, size);
    if (memcmp(fixed, data, size)) read_file_bytes(fixed, size);
    free(fixed);
    return 0;
}
