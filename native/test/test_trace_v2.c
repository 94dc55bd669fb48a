/*
 * test_trace_v2.c — trace format 2 (native/wire/trace_v2.c, the writer and
 * reader, docs/trace-format.md "Format 2"): every kind round-trips bit for
 * bit, cut and corrupted files keep every chunk before the damage, hostile
 * chunks (valid CRCs, bad content, decompression bombs) are refused with a
 * clear error, summaries describe lanes correctly in both formats, seeking,
 * and two reader hardenings of issue 15: string ids chosen to collide stay
 * linear, and opening a FIFO fails at once.
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <zstd.h>

#include "wire/reader.h"
#include "wire/trace_v2.h"

/* ---- helpers ----------------------------------------------------------------------- */

#include "trace_test.h"

/* Every kind the schema knows, from the wire layer's own table (a kind added
 * to the schema is exercised here without a second list to keep). */
static uint16_t known_kinds[256];
static size_t nknown;
/* Kinds no schema defines (yet): below, between and above the known ones, and past one byte. The
 * candidates a later schema takes are skipped (list_known_kinds). */
static const uint16_t unknown_candidates[] = {0,   10,  11,  12,  13,  14,  15,   24,   100,
                                              127, 128, 200, 254, 255, 256, 1000, 65535};
static uint16_t unknown_kinds[sizeof unknown_candidates / 2];
static size_t nunknown;

static void list_known_kinds(void)
{
    nknown = 0;
    for (unsigned k = 0; k < 65536 && nknown < sizeof known_kinds / sizeof known_kinds[0]; k++)
        if (cs_event_kind_known(k)) known_kinds[nknown++] = (uint16_t)k;
    nunknown = 0;
    for (size_t i = 0; i < sizeof unknown_candidates / 2; i++)
        if (!cs_event_kind_known(unknown_candidates[i])) unknown_kinds[nunknown++] = unknown_candidates[i];
}


/* A value that exercises the predictors' edge cases: 0, the record's ts and
 * near it, all ones, small signed, random 64-bit, READY_TIMER for a0. */
static uint64_t tricky(const coroscope_event *e)
{
    switch (rnd() % 9) {
    case 0: return 0;
    case 1: return e->ts;
    case 2: return e->ts + (rnd() % 2000) - 1000;
    case 3: return UINT64_MAX;
    case 4: return (uint64_t)(int64_t)((int)(rnd() % 200) - 100);
    case 5: return COROSCOPE_READY_TIMER;
    case 6: return 1ull << 63;
    case 7: return e->tid;
    default: return rnd();
    }
}

/* n records of every kind (known and unknown), lanes over several threads
 * and workers, timestamps mostly rising but sometimes falling. */
static coroscope_event *random_events(size_t n)
{
    list_known_kinds();
    REQUIRE(nunknown >= 8);
    coroscope_event *ev = calloc(n, sizeof *ev);
    uint64_t ts = 1000000000ull;
    for (size_t i = 0; i < n; i++) {
        coroscope_event *e = &ev[i];
        ts += rnd() % 5 == 0 ? (uint64_t) - (int64_t)(rnd() % 3000) : rnd() % 3000;
        if (rnd() % 1000 == 0) ts = rnd(); /* anywhere */
        e->ts = ts;
        e->kind = rnd() % 8 ? known_kinds[rnd() % nknown] : unknown_kinds[rnd() % nunknown];
        unsigned t = (unsigned)(rnd() % 6);
        e->tid = t == 5 ? (uint32_t)rnd() : 1000 + t;
        e->worker = t < 3 ? (uint16_t)t : t == 3 ? COROSCOPE_NO_WORKER : (uint16_t)rnd();
        e->co = rnd() % 4 ? rnd() % 64 : rnd() % 2 ? 0 : rnd();
        for (int k = 0; k < 5; k++) e->a[k] = tricky(e);
    }
    return ev;
}

/* A closed (or abandoned) format-2 trace in a memfd. */
static int write_v2(const coroscope_event *ev, size_t n, uint32_t chunk_records, int close_it)
{
    return write_format(2, ev, n, chunk_records, close_it);
}

/* Chunk offsets of a format-2 file (walking the chunk headers); offs[k] is
 * where chunk k starts, offs[count] where the chunks end. */
static size_t v2_chunks(const char *file, size_t size, uint64_t *offs, size_t max)
{
    uint64_t off = 64;
    size_t k = 0;
    while (off + sizeof(cs_v2_chunk_header) <= size && k < max) {
        cs_v2_chunk_header h;
        memcpy(&h, file + off, sizeof h);
        if (h.magic != CS_V2_CHUNK_MAGIC) break;
        offs[k++] = off;
        off += sizeof h + h.summary_size + h.body_size;
    }
    offs[k] = off;
    return k;
}

/* ---- round trip ---------------------------------------------------------------------- */

TEST(every_event_kind_round_trips_bit_for_bit_through_format_2)
{
    rng_state = 0x1234567887654321ull;
    enum { N = 100000 };
    coroscope_event *ev = random_events(N);
    /* and the regular shapes the predictors expect: a coroutine's switch
     * counter rising, deadlines just after their record */
    for (size_t i = 0; i < N; i += 7) {
        ev[i].kind = COROSCOPE_EV_CO_RUN;
        ev[i].a[0] = i / 7;
    }
    static const uint32_t sizes[] = {1, 7, 1000, 16384, CS_CHUNK_MAX_RECORDS};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int fd = write_v2(ev, N, sizes[s], 1);
        readback rb = read_all_fd(fd, 0);
        close(fd);
        CHECK_EQ_LONG(rb.open_rc, 0);
        CHECK_EQ_LONG(rb.status.code, 0);
        CHECK_EQ_LONG(rb.info.version_major, 2);
        CHECK_EQ_LONG(rb.info.has_index, 1);
        CHECK_EQ_LONG(rb.info.total_records, N);
        CHECK_EQ_LONG(rb.n, N);
        CHECK(rb.n == N && same_events(rb.ev, ev, N));
        free(rb.ev);
    }
    /* every known kind present, with every unknown one too */
    int seen[65536] = {0};
    for (size_t i = 0; i < N; i++) seen[ev[i].kind] = 1;
    CHECK(nknown >= 25); /* the kinds of events version 1, at least */
    for (size_t k = 0; k < nknown; k++) CHECK(seen[known_kinds[k]]);
    for (size_t k = 0; k < nunknown; k++) CHECK(seen[unknown_kinds[k]]);
    free(ev);
}

TEST(strings_written_in_format_2_resolve_and_read_back_identical)
{
    int fd = memfile(NULL, 0);
    cs_trace_writer *w;
    cs_trace_err err;
    cs_trace_writer_opts o = {.chunk_records = 3};
    REQUIRE(cs_trace_writer_open_fd(&w, fd, &o, &err) == 0);
    char text[300];
    for (int i = 0; i < 300; i++) text[i] = (char)(i * 7 + 1);
    REQUIRE(cs_trace_writer_string(w, 9, text, sizeof text, 10, 0, 1) == 0);
    REQUIRE(cs_trace_writer_string(w, 10, "short", 5, 11, 1, 2) == 0);
    coroscope_event odd = {.ts = 12, .kind = COROSCOPE_EV_STRING, .tid = 3, .a = {11, 2, rnd(), rnd(), rnd()}};
    REQUIRE(cs_trace_writer_append(w, &odd, 1) == 0); /* garbage after the text is kept too */
    REQUIRE(cs_trace_writer_close(w, &err) == 0);
    cs_reader *r;
    REQUIRE(cs_reader_open_fd(&r, fd, 0, &err) == 0);
    coroscope_event e;
    size_t n = 0;
    while (cs_reader_next(r, &e) == 1) n++;
    CHECK_EQ_LONG(n, 13 + 1 + 1); /* 300 bytes = 1 STRING + 12 STRING_MORE */
    size_t len;
    int complete;
    const char *s = cs_reader_string(r, 9, &len, &complete);
    REQUIRE(s);
    CHECK_EQ_LONG(len, 300);
    CHECK_EQ_LONG(complete, 1);
    CHECK(memcmp(s, text, 300) == 0);
    CHECK_STR_CONTAINS(cs_reader_string(r, 10, NULL, NULL), "short");
    cs_reader_close(r);
    readback rb = read_all_fd(fd, 0);
    REQUIRE(rb.n == 15);
    CHECK(same_events(&rb.ev[14], &odd, 1));
    free(rb.ev);
    close(fd);
}

/* ---- damage ------------------------------------------------------------------------- */

/* n records shaped like a recording's (few bytes each once encoded). */
static coroscope_event *plain_events(size_t n)
{
    static const uint16_t kinds[] = {COROSCOPE_EV_CO_RUN, COROSCOPE_EV_CALL,     COROSCOPE_EV_CO_SUSPEND,
                                     COROSCOPE_EV_WAKE,   COROSCOPE_EV_CO_YIELD, COROSCOPE_EV_QUEUES};
    coroscope_event *ev = calloc(n, sizeof *ev);
    for (size_t i = 0; i < n; i++) {
        ev[i] = (coroscope_event){.ts = 1000000000ull + i * 1000 + rnd() % 500,
                                  .kind = kinds[rnd() % 6],
                                  .worker = (uint16_t)(rnd() % 2),
                                  .tid = 100,
                                  .co = rnd() % 50};
        ev[i].tid += ev[i].worker;
        for (int k = 0; k < 5; k++) ev[i].a[k] = rnd() % 4 ? rnd() % 16 : rnd() % 100000;
    }
    return ev;
}

TEST(a_file_cut_at_every_offset_of_its_last_chunks_reads_every_chunk_before_the_cut)
{
    rng_state = 0xC0FFEEull;
    enum { N = 1500, PER = 250 };
    coroscope_event *ev = plain_events(N);
    for (int closed = 0; closed < 2; closed++) {
        int fd = write_v2(ev, N, PER, closed);
        char *file;
        size_t size = slurp(fd, &file);
        close(fd);
        uint64_t offs[16];
        size_t nch = v2_chunks(file, size, offs, 15);
        REQUIRE(nch == N / PER);
        /* every cut from the start of the second-to-last chunk to the end */
        for (size_t cut = (size_t)offs[nch - 2]; cut <= size; cut++) {
            readback rb = read_all_bytes(file, cut, 0);
            size_t whole = 0;
            while (whole < nch && offs[whole + 1] <= cut) whole++;
            size_t expect = cut >= offs[nch] ? N : whole * PER;
            if (rb.open_rc || rb.n != expect || !same_events(rb.ev, ev, rb.n)) {
                cs_test_fail(__FILE__, __LINE__, "closed=%d cut at %zu of %zu: %zu records (expected %zu), \"%s\"",
                             closed, cut, size, rb.n, expect, rb.status.msg);
                free(rb.ev);
                break;
            }
            int at_boundary = cut == offs[whole] || cut >= offs[nch];
            /* cuts inside the index or footer of a closed file lose nothing:
             * the chunks are whole, the file reads as an unclosed one */
            if (at_boundary && rb.status.code != 0 && !(cut > offs[nch] && cut < offs[nch] + 3)) {
                cs_test_fail(__FILE__, __LINE__, "cut at %zu (a boundary): \"%s\"", cut, rb.status.msg);
                free(rb.ev);
                break;
            }
            if (!at_boundary && rb.status.code != CS_TRACE_ETRUNCCHUNK) {
                cs_test_fail(__FILE__, __LINE__, "cut at %zu inside a chunk: code %s \"%s\"", cut,
                             cs_trace_code_name(rb.status.code), rb.status.msg);
                free(rb.ev);
                break;
            }
            free(rb.ev);
        }
        free(file);
    }
    free(ev);
}

TEST(a_flipped_byte_anywhere_in_a_chunk_is_reported_and_the_chunks_before_it_are_kept)
{
    rng_state = 0xF11Bull;
    enum { N = 1200, PER = 400 };
    coroscope_event *ev = random_events(N);
    int fd = write_v2(ev, N, PER, 1);
    char *file;
    size_t size = slurp(fd, &file);
    close(fd);
    uint64_t offs[8];
    REQUIRE(v2_chunks(file, size, offs, 7) == 3);
    char *bad = malloc(size);
    int codes[CS_TRACE_CODE_COUNT] = {0};
    for (size_t at = (size_t)offs[1]; at < offs[2]; at++) { /* every byte of the middle chunk */
        memcpy(bad, file, size);
        bad[at] ^= (char)(1 << (at % 8));
        readback rb = read_all_bytes(bad, size, 0);
        int code = rb.status.code;
        if (rb.open_rc || rb.n != PER || !same_events(rb.ev, ev, PER) ||
            (code != CS_TRACE_EBADCHUNK && code != CS_TRACE_ECHUNKCRC) || rb.status.offset != offs[1] ||
            rb.status.records_lost != 2 * PER || !strstr(rb.status.msg, "400 read before")) {
            cs_test_fail(__FILE__, __LINE__, "flip at %zu: %zu records, code %s, \"%s\"", at, rb.n,
                         cs_trace_code_name(code), rb.status.msg);
            free(rb.ev);
            break;
        }
        codes[code]++;
        free(rb.ev);
    }
    CHECK_GT_LONG(codes[CS_TRACE_EBADCHUNK], 0); /* the header */
    CHECK_GT_LONG(codes[CS_TRACE_ECHUNKCRC], 0); /* summary and body */
    free(bad);
    free(file);
    free(ev);
}

/* Rebuild a chunk around a raw body and a summary, with valid CRCs. */
static size_t forge_chunk(char *out, const cs_v2_chunk_header *like, const void *sum, size_t sum_len, const void *raw,
                          size_t raw_len, uint32_t declared_raw)
{
    cs_v2_chunk_header h = *like;
    size_t cap = ZSTD_compressBound(raw_len);
    char *body = out + sizeof h + sum_len;
    size_t blen = ZSTD_compress(body, cap, raw, raw_len, 1);
    REQUIRE(!ZSTD_isError(blen));
    memcpy(out + sizeof h, sum, sum_len);
    h.summary_size = (uint32_t)sum_len;
    h.body_size = (uint32_t)blen;
    h.raw_size = declared_raw;
    h.summary_crc = cs_crc32(0, sum, sum_len);
    h.body_crc = cs_crc32(0, body, blen);
    h.header_crc = cs_crc32(0, &h, 52);
    memcpy(out, &h, sizeof h);
    return sizeof h + sum_len + blen;
}

TEST(hostile_chunks_with_valid_crcs_are_refused_with_a_clear_error_and_earlier_chunks_kept)
{
    rng_state = 0xBADull;
    enum { N = 600, PER = 300 };
    coroscope_event *ev = random_events(N);
    int fd = write_v2(ev, N, PER, 0);
    char *file;
    size_t size = slurp(fd, &file);
    close(fd);
    uint64_t offs[4];
    REQUIRE(v2_chunks(file, size, offs, 3) == 2);
    const char *c2 = file + offs[1];
    cs_v2_chunk_header h;
    memcpy(&h, c2, sizeof h);
    const char *sum = c2 + sizeof h;
    char *raw = malloc(h.raw_size + 64);
    REQUIRE(ZSTD_decompress(raw, h.raw_size, sum + h.summary_size, h.body_size) == h.raw_size);
    size_t cap = offs[1] + sizeof h + h.summary_size + ZSTD_compressBound(h.raw_size + 64) + (64u << 20);
    char *f = malloc(cap);
    int codes[CS_TRACE_CODE_COUNT] = {0};
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(f, file, offs[1]);
        char *rawm = malloc(h.raw_size + 64);
        memcpy(rawm, raw, h.raw_size);
        size_t rlen = h.raw_size;
        char *summ = malloc(h.summary_size);
        memcpy(summ, sum, h.summary_size);
        uint32_t declared = 0;
        switch (iter % 6) {
        case 0: /* flip bits of the decompressed columns */
            for (int k = 1 + (int)(rnd() % 4); k > 0; k--) rawm[rnd() % rlen] ^= (char)(1 << (rnd() % 8));
            break;
        case 1: /* overwrite a run of the columns */
            for (size_t i = rnd() % rlen, e = i + 1 + rnd() % 32; i < e && i < rlen; i++) rawm[i] = (char)rnd();
            break;
        case 2: /* cut or grow the columns */ rlen = rnd() % 2 ? rnd() % rlen : rlen + 1 + rnd() % 60; break;
        case 3: /* the summary: lanes, counts, times */
            for (int k = 1 + (int)(rnd() % 3); k > 0; k--) summ[rnd() % h.summary_size] ^= (char)(1 << (rnd() % 8));
            break;
        case 4: /* a decompression bomb: declares (and holds) far more than the records need */
            rlen = h.raw_size;
            declared = (uint32_t)(CS_V2_RAW_MAX(h.nrecords) + 1 + rnd() % 1000);
            break;
        case 5: { /* a body that decompresses to more than it declares (costly: now and then) */
            if (iter % 60 != 5) continue;
            char *big = calloc(1, 32u << 20);
            size_t n = forge_chunk(f + offs[1], &h, summ, h.summary_size, big, 32u << 20, h.raw_size);
            free(big);
            readback rb = read_all_bytes(f, offs[1] + n, 0);
            CHECK(rb.n == PER && same_events(rb.ev, ev, PER));
            CHECK_EQ_LONG(rb.status.code, CS_TRACE_EBADDATA);
            codes[rb.status.code]++;
            free(rb.ev);
            free(rawm);
            free(summ);
            continue;
        }
        }
        size_t n = forge_chunk(f + offs[1], &h, summ, h.summary_size, rawm, rlen, declared ? declared : (uint32_t)rlen);
        readback rb = read_all_bytes(f, offs[1] + n, 0);
        int code = rb.status.code;
        /* the first chunk always; the forged one either decodes or is refused */
        if (rb.open_rc || rb.n < PER || !same_events(rb.ev, ev, PER) ||
            (code && (code != CS_TRACE_EBADDATA && code != CS_TRACE_EBADCHUNK)) || (code && !rb.status.msg[0]) ||
            (code && rb.n != PER) || (!code && rb.n != N)) {
            cs_test_fail(__FILE__, __LINE__, "case %d: %zu records, code %s \"%s\"", iter, rb.n,
                         cs_trace_code_name(code), rb.status.msg);
            free(rb.ev);
            free(rawm);
            free(summ);
            break;
        }
        codes[code]++;
        free(rb.ev);
        free(rawm);
        free(summ);
    }
    CHECK_GT_LONG(codes[CS_TRACE_EBADDATA], 800);
    CHECK_GT_LONG(codes[CS_TRACE_EBADCHUNK], 0); /* the bomb: refused from its header */
    free(f);
    free(raw);
    free(file);
    free(ev);
}

TEST(random_and_mutated_format_2_files_give_records_or_a_clear_error_never_a_crash)
{
    rng_state = 0x5EED2ull;
    enum { N = 400 };
    coroscope_event *ev = random_events(N);
    int fd = write_v2(ev, N, 60, 1);
    char *base;
    size_t size = slurp(fd, &base);
    close(fd);
    char *buf = malloc(size + 4096);
    int counts[CS_TRACE_CODE_COUNT] = {0};
    for (int iter = 0; iter < 4000; iter++) {
        size_t n = size;
        memcpy(buf, base, size);
        switch (iter % 4) {
        case 0:
            for (int k = 1 + (int)(rnd() % 8); k > 0; k--) buf[rnd() % n] ^= (char)(1 << (rnd() % 8));
            break;
        case 1: n = (size_t)(rnd() % size); break;
        case 2:
            for (size_t i = rnd() % n, e = i + 1 + rnd() % 64; i < e && i < n; i++) buf[i] = (char)rnd();
            break;
        case 3: { /* a forged header with a valid CRC and random sizes, at the first chunk */
            cs_v2_chunk_header h;
            memcpy(&h, buf + 64, sizeof h);
            h.nrecords = (uint32_t)(rnd() % (CS_CHUNK_MAX_RECORDS + 2));
            h.raw_size = (uint32_t)rnd();
            h.summary_size = (uint32_t)(rnd() % 100000);
            h.body_size = (uint32_t)(rnd() % 100000);
            h.header_crc = cs_crc32(0, &h, 52);
            memcpy(buf + 64, &h, sizeof h);
            break;
        }
        }
        readback rb = read_all_bytes(buf, n, iter % 2 ? CS_READ_SKIP_UNKNOWN : 0);
        int code = rb.open_rc ? rb.open_rc : rb.status.code;
        if (code < 0 || code >= CS_TRACE_CODE_COUNT || (code && !rb.status.msg[0]) || rb.n > N) {
            cs_test_fail(__FILE__, __LINE__, "case %d: code %d, %zu records, \"%s\"", iter, code, rb.n, rb.status.msg);
            break;
        }
        counts[code]++;
        free(rb.ev);
    }
    CHECK_GT_LONG(counts[CS_TRACE_OK], 0);
    CHECK_GT_LONG(counts[CS_TRACE_EBADCHUNK], 0);
    CHECK_GT_LONG(counts[CS_TRACE_ECHUNKCRC], 0);
    CHECK_GT_LONG(counts[CS_TRACE_ETRUNCCHUNK], 0);
    free(buf);
    free(base);
    free(ev);
}

/* ---- summaries ---------------------------------------------------------------------- */

#define REC(t, k, w, tid_, c) ((coroscope_event){.ts = (t), .kind = (k), .worker = (w), .tid = (tid_), .co = (c)})

TEST(chunk_summaries_give_per_lane_counts_busy_time_and_running_coroutines_in_both_formats)
{
    /* worker 0 (tid 10) runs co 5 from 100 to 150 and co 6 from 180 into
     * the next chunk, until 260; worker 1 (tid 11) sleeps from 120 to 300;
     * a plain thread (tid 12) makes one call. */
    coroscope_event ev[] = {
        REC(100, COROSCOPE_EV_CO_RUN, 0, 10, 5),
        REC(120, COROSCOPE_EV_WORKER_IDLE, 1, 11, 0),
        REC(130, COROSCOPE_EV_CALL, COROSCOPE_NO_WORKER, 12, 0),
        REC(150, COROSCOPE_EV_CO_YIELD, 0, 10, 5),
        REC(180, COROSCOPE_EV_CO_RUN, 0, 10, 6),
        REC(200, 300, 0, 10, 6), /* an unknown kind, counted as itself */
        /* chunk 2 */
        REC(240, COROSCOPE_EV_CALL, 0, 10, 6),
        REC(260, COROSCOPE_EV_CO_SUSPEND, 0, 10, 6),
        REC(300, COROSCOPE_EV_WORKER_BUSY, 1, 11, 0),
    };
    for (int format = 1; format <= 2; format++) {
        int fd = memfile(NULL, 0);
        cs_trace_writer *w;
        cs_trace_err err;
        cs_trace_writer_opts o = {.format = (uint32_t)format, .chunk_records = 6};
        REQUIRE(cs_trace_writer_open_fd(&w, fd, &o, &err) == 0);
        REQUIRE(cs_trace_writer_append(w, ev, 9) == 0);
        REQUIRE(cs_trace_writer_close(w, &err) == 0);
        cs_reader *r;
        REQUIRE(cs_reader_open_fd(&r, fd, 0, &err) == 0);
        uint64_t cur = 0;
        cs_chunk_summary s;
        REQUIRE(cs_reader_summary_next(r, &cur, &s, &err) == 1);
        CHECK_EQ_LONG(s.nrecords, 6);
        CHECK_EQ_LONG(s.first_ts, 100);
        CHECK_EQ_LONG(s.last_ts, 200);
        REQUIRE(s.nlanes == 3);
        const cs_lane_summary *w0 = &s.lanes[0], *w1 = &s.lanes[1], *pt = &s.lanes[2];
        CHECK_EQ_LONG(w0->d.tid, 10);
        CHECK_EQ_LONG(w0->d.worker, 0);
        CHECK_EQ_LONG(w0->d.nrecords, 4);
        CHECK_EQ_LONG(w0->d.busy_ns, 50 + 20); /* 100..150, then 180..200 */
        CHECK_EQ_LONG(w0->d.co_start, 0);
        CHECK_EQ_LONG(w0->d.co_end, 6);
        REQUIRE(w0->d.nkinds == 3);
        CHECK_EQ_LONG(w0->kinds[0].kind, COROSCOPE_EV_CO_RUN);
        CHECK_EQ_LONG(w0->kinds[0].count, 2);
        CHECK_EQ_LONG(w0->kinds[1].kind, COROSCOPE_EV_CO_YIELD);
        CHECK_EQ_LONG(w0->kinds[2].kind, 300);
        CHECK_EQ_LONG(w0->kinds[2].count, 1);
        CHECK_EQ_LONG(w1->d.worker, 1);
        CHECK_EQ_LONG(w1->d.state, CS_LANE_IDLE_AT_END);
        CHECK_EQ_LONG(w1->d.busy_ns, 0);
        CHECK_EQ_LONG(pt->d.worker, COROSCOPE_NO_WORKER);
        CHECK_EQ_LONG(pt->d.tid, 12);
        CHECK_EQ_LONG(pt->d.first_ts, 130);
        REQUIRE(cs_reader_summary_next(r, &cur, &s, &err) == 1);
        REQUIRE(s.nlanes == 2);
        CHECK_EQ_LONG(s.lanes[0].d.tid, 10);
        CHECK_EQ_LONG(s.lanes[0].d.co_start, 6);
        CHECK_EQ_LONG(s.lanes[0].d.co_end, 0);
        CHECK_EQ_LONG(s.lanes[0].d.busy_ns, 60); /* 200 (last record before) .. 260 */
        CHECK_EQ_LONG(s.lanes[1].d.state, CS_LANE_IDLE_AT_START);
        CHECK_EQ_LONG(cs_reader_summary_next(r, &cur, &s, &err), 0);
        CHECK_EQ_LONG(err.code, 0);
        /* the walk does not disturb reading */
        coroscope_event e;
        size_t n = 0;
        while (cs_reader_next(r, &e) == 1) n++;
        CHECK_EQ_LONG(n, 9);
        cs_reader_close(r);
        close(fd);
    }
}

TEST(a_summary_walk_stops_at_a_cut_chunk_with_every_summary_before_it)
{
    rng_state = 77;
    coroscope_event *ev = random_events(1000);
    int fd = write_v2(ev, 1000, 250, 0);
    char *file;
    size_t size = slurp(fd, &file);
    close(fd);
    readback dummy = {0};
    (void)dummy;
    int cut = memfile(file, size - 10);
    cs_reader *r;
    cs_trace_err err;
    REQUIRE(cs_reader_open_fd(&r, cut, 0, &err) == 0);
    uint64_t cur = 0;
    cs_chunk_summary s;
    int n = 0;
    while (cs_reader_summary_next(r, &cur, &s, &err) == 1) n++;
    CHECK_EQ_LONG(n, 3);
    CHECK_EQ_LONG(err.code, CS_TRACE_ETRUNCCHUNK);
    cs_reader_close(r);
    close(cut);
    free(file);
    free(ev);
}

TEST(format_2_batches_of_more_than_a_quarter_chunk_become_chunks_as_they_come_and_small_ones_collect)
{
    /* chunk_records 8: a batch of 5 (more than a quarter chunk) with no
     * chunk open is a chunk of its own, encoded from the caller's records;
     * batches of 2 collect into the open chunk until it is full (8) or
     * the file closes. Every record reads back, in order. */
    rng_state = 5;
    coroscope_event *ev = random_events(26);
    int fd = memfile(NULL, 0);
    cs_trace_writer *w;
    cs_trace_err err;
    cs_trace_writer_opts o = {.format = 2, .chunk_records = 8};
    REQUIRE(cs_trace_writer_open_fd(&w, fd, &o, &err) == 0);
    static const size_t batch[] = {5, 5, 2, 2, 2, 2, 8};
    size_t at = 0;
    for (size_t b = 0; b < sizeof batch / sizeof batch[0]; b++) {
        REQUIRE(cs_trace_writer_append(w, ev + at, batch[b]) == 0);
        at += batch[b];
    }
    REQUIRE(at == 26);
    REQUIRE(cs_trace_writer_close(w, &err) == 0);
    cs_reader *r;
    REQUIRE(cs_reader_open_fd(&r, fd, 0, &err) == 0);
    uint64_t cur = 0;
    cs_chunk_summary s;
    uint32_t sizes[8] = {0};
    int n = 0;
    while (n < 8 && cs_reader_summary_next(r, &cur, &s, &err) == 1) sizes[n++] = s.nrecords;
    CHECK_EQ_LONG(n, 4);
    CHECK_EQ_LONG(sizes[0], 5);
    CHECK_EQ_LONG(sizes[1], 5);
    CHECK_EQ_LONG(sizes[2], 8); /* four batches of 2 */
    CHECK_EQ_LONG(sizes[3], 8);
    coroscope_event e;
    size_t k = 0;
    int same = 1;
    while (cs_reader_next(r, &e) == 1) {
        same &= k < 26 && !memcmp(&e, &ev[k], sizeof e);
        k++;
    }
    CHECK_EQ_LONG(k, 26);
    CHECK(same);
    cs_reader_close(r);
    close(fd);
    free(ev);
}

/* ---- seeking ------------------------------------------------------------------------ */

TEST(seek_by_time_in_format_2_lands_on_the_chunk_holding_that_time_and_resolves_earlier_strings)
{
    enum { N = 5000, PER = 500 };
    coroscope_event *ev = calloc(N, sizeof *ev);
    for (size_t i = 0; i < N; i++)
        ev[i] = (coroscope_event){.ts = 1000 + i * 10, .kind = COROSCOPE_EV_CALL, .tid = 1, .co = i % 9};
    ev[3].kind = COROSCOPE_EV_STRING; /* string 42 = "abc", in the first chunk */
    ev[3].a[0] = 42;
    ev[3].a[1] = 3;
    memcpy(&ev[3].a[2], "abc", 3);
    ev[1203].kind = COROSCOPE_EV_STRING; /* string 43 = "defg", in chunk 2 */
    ev[1203].a[0] = 43;
    ev[1203].a[1] = 4;
    memcpy(&ev[1203].a[2], "defg", 4);
    for (int closed = 0; closed < 2; closed++) {
        int fd = write_v2(ev, N, PER, closed);
        cs_reader *r;
        cs_trace_err err;
        REQUIRE(cs_reader_open_fd(&r, fd, 0, &err) == 0);
        CHECK_EQ_LONG(cs_reader_info(r)->has_index, closed);
        REQUIRE(cs_reader_seek_time(r, 1000 + 3210 * 10) == 0);
        coroscope_event e;
        REQUIRE(cs_reader_next(r, &e) == 1);
        CHECK_EQ_LONG(e.ts, 1000 + 3000 * 10); /* the first record of chunk 6 */
        CHECK(same_events(&e, &ev[3000], 1));
        CHECK_STR_CONTAINS(cs_reader_string(r, 42, NULL, NULL), "abc");
        CHECK_STR_CONTAINS(cs_reader_string(r, 43, NULL, NULL), "defg");
        REQUIRE(cs_reader_seek_time(r, 0) == 0);
        REQUIRE(cs_reader_next(r, &e) == 1);
        CHECK(same_events(&e, &ev[0], 1));
        cs_reader_close(r);
        close(fd);
    }
    free(ev);
}

/* ---- issue 15: hostile ids, FIFOs ------------------------------------------------------ */

/* A format-1 trace of n STRING records whose ids all land in one run of the
 * reader's former table (fixed multiplicative hash: slot = id * C >> 17):
 * multiples of 2^47 all map to slot 0 for any table below 2^17 slots. */
static int colliding_strings(size_t n)
{
    int fd = memfile(NULL, 0);
    cs_trace_writer *w;
    cs_trace_err err;
    cs_trace_writer_opts o = {.format = 1, .chunk_records = 65536};
    REQUIRE(cs_trace_writer_open_fd(&w, fd, &o, &err) == 0);
    for (size_t i = 1; i <= n; i++) {
        coroscope_event e = {.ts = i, .kind = COROSCOPE_EV_STRING, .tid = 1, .a = {(uint64_t)i << 47, 1, 'x'}};
        REQUIRE(cs_trace_writer_append(w, &e, 1) == 0);
    }
    REQUIRE(cs_trace_writer_close(w, &err) == 0);
    return fd;
}

TEST(string_ids_chosen_to_collide_cost_a_bounded_number_of_probes_each)
{
    /* 60 k such ids made the old table probe ~1.8e9 slots (quadratic); a
     * keyed hash spreads them: with a table at most half full, a few probes
     * per lookup. */
    enum { N = 60000 };
    int fd = colliding_strings(N);
    cs_reader *r;
    cs_trace_err err;
    REQUIRE(cs_reader_open_fd(&r, fd, 0, &err) == 0);
    coroscope_event e;
    size_t n = 0;
    while (cs_reader_next(r, &e) == 1) n++;
    CHECK_EQ_LONG(n, N);
    for (size_t i = 1; i <= N; i++)
        if (!cs_reader_string(r, (uint64_t)i << 47, NULL, NULL)) {
            cs_test_fail(__FILE__, __LINE__, "string %zu missing", i);
            break;
        }
    /* inserts (with rehashes) and N lookups: linear, with room */
    uint64_t probes = cs_reader_string_probes(r);
    CHECK_LT_LONG((long)probes, 20L * N);
    cs_reader_close(r);
    close(fd);
}

TEST(opening_a_fifo_fails_at_once_with_a_clear_error)
{
    char dir[] = "/tmp/cs-fifo-XXXXXX";
    REQUIRE(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/trace.cstrace", dir);
    REQUIRE(mkfifo(path, 0600) == 0);
    /* in a child with an alarm, so a blocking open fails the test instead of hanging it */
    int pfd[2];
    REQUIRE(pipe(pfd) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        alarm(5);
        cs_reader *r;
        cs_trace_err err;
        int rc = cs_reader_open_path(&r, path, 0, &err);
        dprintf(pfd[1], "%d %s", rc, err.msg);
        _exit(0);
    }
    close(pfd[1]);
    int st;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    char msg[512] = {0};
    ssize_t k = read(pfd[0], msg, sizeof msg - 1);
    close(pfd[0]);
    CHECK(WIFEXITED(st)); /* not killed by the alarm: open did not block */
    CHECK_GT_LONG(k, 0);
    char want[16];
    snprintf(want, sizeof want, "%d ", CS_TRACE_EINVAL);
    CHECK(strncmp(msg, want, strlen(want)) == 0);
    CHECK_STR_CONTAINS(msg, "not a regular file (a FIFO)");
    unlink(path);
    rmdir(dir);
}

TEST(a_format_1_file_and_a_format_2_file_of_the_same_records_read_back_the_same)
{
    rng_state = 4321;
    coroscope_event *ev = random_events(5000);
    for (int format = 1; format <= 2; format++) {
        int fd = memfile(NULL, 0);
        cs_trace_writer *w;
        cs_trace_err err;
        cs_trace_writer_opts o = {.format = (uint32_t)format, .chunk_records = 700};
        REQUIRE(cs_trace_writer_open_fd(&w, fd, &o, &err) == 0);
        REQUIRE(cs_trace_writer_append(w, ev, 5000) == 0);
        REQUIRE(cs_trace_writer_close(w, &err) == 0);
        readback rb = read_all_fd(fd, 0);
        CHECK_EQ_LONG(rb.info.version_major, format);
        CHECK(rb.n == 5000 && same_events(rb.ev, ev, 5000));
        CHECK_EQ_LONG(rb.status.code, 0);
        free(rb.ev);
        close(fd);
    }
    free(ev);
}

/* ---- coroscope-dump ------------------------------------------------------------------- */

static const char *dump_path(void)
{
    static char p[4096];
    ssize_t n = readlink("/proc/self/exe", p, sizeof p - 32);
    REQUIRE(n > 0);
    p[n] = 0;
    char *slash = strrchr(p, '/');
    REQUIRE(slash);
    strcpy(slash, "/../coroscope-dump");
    return p;
}

/* Run coroscope-dump on path with stdout to out_path (or /dev/null); its
 * exit status, and the seconds it took. */
static int run_dump_timed(const char *path, const char *out_path, double *secs)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int fd = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(dump_path(), "coroscope-dump", path, (char *)NULL);
        _exit(127);
    }
    int st;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (secs) *secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    REQUIRE(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void write_creates(const char *path, size_t n, int shift)
{
    cs_trace_writer *w;
    cs_trace_err err;
    REQUIRE(cs_trace_writer_create(&w, path, NULL, &err) == 0);
    for (size_t i = 1; i <= n; i++) {
        coroscope_event e = {.ts = i, .kind = COROSCOPE_EV_CO_CREATE, .tid = 1, .co = (uint64_t)i << shift};
        REQUIRE(cs_trace_writer_append(w, &e, 1) == 0);
    }
    REQUIRE(cs_trace_writer_close(w, &err) == 0);
}

TEST(coroscope_dump_of_coroutine_ids_chosen_to_collide_takes_as_long_as_of_plain_ids)
{
    /* ids i << 44 all fell into one probe run of dump's former name table
     * (fixed multiplicative hash, >> 20): 100 k of them took seconds, the
     * same count of plain ids a fraction of one. */
    enum { N = 100000 };
    char dir[] = "/tmp/cs-dumpcoll-XXXXXX";
    REQUIRE(mkdtemp(dir));
    char crafted[64], plain[64];
    snprintf(crafted, sizeof crafted, "%s/crafted.cstrace", dir);
    snprintf(plain, sizeof plain, "%s/plain.cstrace", dir);
    write_creates(crafted, N, 44);
    write_creates(plain, N, 0);
    double tc, tp;
    CHECK_EQ_LONG(run_dump_timed(plain, NULL, &tp), 0);
    CHECK_EQ_LONG(run_dump_timed(crafted, NULL, &tc), 0);
    fprintf(stderr, "dump: plain ids %.3f s, colliding ids %.3f s\n", tp, tc);
    CHECK(tc < 4 * tp + 1.0); /* generous: quadratic is 10-100x */
    unlink(crafted);
    unlink(plain);
    rmdir(dir);
}

TEST(coroscope_dump_prints_a_format_2_trace_and_says_its_version)
{
    char dir[] = "/tmp/cs-dump2-XXXXXX";
    REQUIRE(mkdtemp(dir));
    char path[64], out[64];
    snprintf(path, sizeof path, "%s/t.cstrace", dir);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    cs_trace_writer *w;
    cs_trace_err err;
    cs_trace_writer_opts o = {.pid = 777};
    REQUIRE(cs_trace_writer_create(&w, path, &o, &err) == 0);
    REQUIRE(cs_trace_writer_string(w, 1, "pinger", 6, 100, 0, 9) == 0);
    coroscope_event ev[] = {
        {.ts = 100, .kind = COROSCOPE_EV_CO_CREATE, .tid = 9, .co = 3, .a = {0, 1, 0, 65536}},
        {.ts = 200, .kind = COROSCOPE_EV_CO_RUN, .tid = 9, .co = 3, .a = {1}},
    };
    REQUIRE(cs_trace_writer_append(w, ev, 2) == 0);
    REQUIRE(cs_trace_writer_close(w, &err) == 0);
    CHECK_EQ_LONG(run_dump_timed(path, out, NULL), 0);
    int fd = open(out, O_RDONLY);
    REQUIRE(fd >= 0);
    char *text;
    slurp(fd, &text);
    close(fd);
    CHECK_STR_CONTAINS(text, "# coroscope trace: pid 777, format 2.0");
    CHECK_STR_CONTAINS(text, "co#3 \"pinger\" created");
    CHECK_STR_CONTAINS(text, "co#3 \"pinger\" run");
    free(text);
    unlink(path);
    unlink(out);
    rmdir(dir);
}
