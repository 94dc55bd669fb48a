/*
 * test_trace.c — the trace file format: writer/reader round trip, crashed
 * writers (truncation at every byte), corruption, seeking, unknown kinds,
 * header errors, a reproducible fuzz of the reader, and coroscope-dump's
 * output, for format 1 (native/wire/, docs/trace-format.md; format 2 is in
 * test_trace_v2.c).
 */
#define CS_TEST_MAIN
#include "cs_test.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "wire/reader.h"

/* ---- helpers ----------------------------------------------------------------------- */

#include "trace_test.h"

/* n events with increasing ts (1000 ns apart from 1e9), kinds of the schema. */
static coroscope_event *make_events(size_t n)
{
    static const uint16_t kinds[] = {COROSCOPE_EV_CO_RUN, COROSCOPE_EV_CALL,     COROSCOPE_EV_CO_SUSPEND,
                                     COROSCOPE_EV_WAKE,   COROSCOPE_EV_CO_YIELD, COROSCOPE_EV_QUEUES};
    coroscope_event *ev = calloc(n, sizeof *ev);
    for (size_t i = 0; i < n; i++) {
        ev[i] = (coroscope_event){.ts = 1000000000ull + i * 1000,
                                  .kind = kinds[rnd() % 6],
                                  .worker = (uint16_t)(rnd() % 4),
                                  .tid = 100 + (uint32_t)(rnd() % 4),
                                  .co = rnd() % 50};
        for (int k = 0; k < 5; k++) ev[i].a[k] = rnd();
    }
    return ev;
}

/* A closed trace in a memfd: n events, chunk_records per chunk. */
static int write_trace(const coroscope_event *ev, size_t n, uint32_t chunk_records, int close_it)
{
    return write_format(1, ev, n, chunk_records, close_it);
}

/* Offsets of the chunks of a clean file, from its index. */
static size_t chunk_offsets(const char *file, size_t size, uint64_t *offs, size_t max)
{
    cs_trace_footer f;
    memcpy(&f, file + size - sizeof f, sizeof f);
    REQUIRE(!memcmp(f.magic, CS_FOOTER_MAGIC, 8));
    REQUIRE(f.index_count <= max);
    for (uint32_t i = 0; i < f.index_count; i++) {
        cs_index_entry e;
        memcpy(&e, file + f.index_offset + sizeof(cs_index_header) + i * sizeof e, sizeof e);
        offs[i] = e.offset;
    }
    offs[f.index_count] = f.index_offset;
    return f.index_count;
}

/* ---- round trip ---------------------------------------------------------------------- */

TEST(records_and_long_strings_read_back_identical)
{
    enum { N = 5000 };
    coroscope_event *ev = make_events(N);
    static const size_t lens[] = {0, 1, 23, 24, 25, 47, 48, 49, 100, 1000, 70000};
    char *text = malloc(70000);
    for (size_t i = 0; i < 70000; i++) text[i] = (char)(i % 251); /* includes NULs */
    int fd = memfile(NULL, 0);
    cs_trace_writer *w;
    cs_trace_err err;
    cs_trace_writer_opts o = {
        .format = 1, .pid = 4242, .mono_ns = 5, .real_ns = 7, .flags = CS_TRACE_FLAG_SORTED, .chunk_records = 100};
    REQUIRE(cs_trace_writer_open_fd(&w, fd, &o, &err) == 0);
    size_t written = 0;
    for (size_t s = 0; s < sizeof lens / sizeof lens[0]; s++) {
        REQUIRE(cs_trace_writer_append(w, ev + written, 300) == 0);
        written += 300;
        CHECK_EQ_LONG(cs_trace_writer_string(w, 10 + s, text, lens[s], 1, 2, 3), 0);
    }
    REQUIRE(cs_trace_writer_append(w, ev + written, N - written) == 0);
    REQUIRE(cs_trace_writer_close(w, &err) == 0);

    readback all = read_all_fd(fd, 0);
    REQUIRE(all.open_rc == 0);
    CHECK_EQ_LONG(all.status.code, 0);
    CHECK_EQ_LONG(all.info.has_index, 1);
    CHECK_EQ_LONG(all.info.pid, 4242);
    CHECK_EQ_LONG(all.info.mono_ns, 5);
    CHECK_EQ_LONG(all.info.real_ns, 7);
    CHECK_EQ_LONG(all.info.flags, CS_TRACE_FLAG_SORTED);
    CHECK_EQ_LONG(all.info.total_records, all.n);
    size_t strrec = 0;
    for (size_t s = 0; s < sizeof lens / sizeof lens[0]; s++)
        strrec += lens[s] <= 24 ? 1 : 1 + (lens[s] - 24 + 23) / 24;
    CHECK_EQ_LONG(all.n, N + strrec);

    readback ev_only = read_all_fd(fd, CS_READ_SKIP_STRINGS);
    CHECK_EQ_LONG(ev_only.n, N);
    CHECK(same_events(ev_only.ev, ev, N));

    cs_reader *r;
    REQUIRE(cs_reader_open_fd(&r, fd, 0, &err) == 0);
    coroscope_event e;
    while (cs_reader_next(r, &e) == 1)
        ;
    for (size_t s = 0; s < sizeof lens / sizeof lens[0]; s++) {
        size_t len = 99;
        int complete = 0;
        const char *t = cs_reader_string(r, 10 + s, &len, &complete);
        REQUIRE(t);
        CHECK_EQ_LONG(len, lens[s]);
        CHECK_EQ_LONG(complete, 1);
        CHECK(memcmp(t, text, lens[s]) == 0);
        CHECK_EQ_LONG(t[len], 0);
    }
    CHECK(cs_reader_string(r, 0, NULL, NULL) == NULL);
    CHECK(cs_reader_string(r, 999, NULL, NULL) == NULL);
    cs_reader_close(r);
    close(fd);
}

TEST(a_string_missing_pieces_resolves_to_its_prefix_marked_incomplete)
{
    coroscope_event ev[2] = {{.ts = 1, .kind = COROSCOPE_EV_STRING}, {.ts = 2, .kind = COROSCOPE_EV_STRING_MORE}};
    ev[0].a[0] = 7;
    ev[0].a[1] = 60;
    memcpy(&ev[0].a[2], "abcdefghijklmnopqrstuvwx", 24);
    ev[1].a[0] = 7;
    ev[1].a[1] = 48; /* a gap: the piece at 24 is missing */
    int fd = write_trace(ev, 2, 0, 1);
    cs_reader *r;
    cs_trace_err err;
    REQUIRE(cs_reader_open_fd(&r, fd, 0, &err) == 0);
    coroscope_event e;
    while (cs_reader_next(r, &e) == 1)
        ;
    size_t len;
    int complete = 1;
    const char *t = cs_reader_string(r, 7, &len, &complete);
    REQUIRE(t);
    CHECK_EQ_LONG(complete, 0);
    CHECK_EQ_LONG(len, 24);
    CHECK(strcmp(t, "abcdefghijklmnopqrstuvwx") == 0);
    cs_reader_close(r);
    close(fd);
}

TEST(an_empty_trace_has_no_records_and_a_valid_index)
{
    int fd = write_trace(NULL, 0, 0, 1);
    readback rb = read_all_fd(fd, 0);
    CHECK_EQ_LONG(rb.open_rc, 0);
    CHECK_EQ_LONG(rb.n, 0);
    CHECK_EQ_LONG(rb.status.code, 0);
    CHECK_EQ_LONG(rb.info.has_index, 1);
    CHECK_EQ_LONG(rb.info.chunk_count, 0);
    close(fd);
}

/* ---- crashed writers and corruption ---------------------------------------------- */

TEST(a_file_cut_at_every_byte_of_its_last_chunk_reads_the_complete_chunks_and_reports_truncation)
{
    enum { N = 207, CR = 50 }; /* 4 full chunks + one of 7 records */
    coroscope_event *ev = make_events(N);
    int fd = write_trace(ev, N, CR, 1);
    char *file;
    size_t size = slurp(fd, &file);
    close(fd);
    uint64_t offs[16];
    size_t nchunks = chunk_offsets(file, size, offs, 15);
    REQUIRE(nchunks == 5);
    uint64_t last = offs[4], index_off = offs[5];
    for (uint64_t cut = last; cut <= size; cut++) {
        readback rb = read_all_bytes(file, (size_t)cut, 0);
        REQUIRE(rb.open_rc == 0);
        if (cut == size) { /* intact */
            CHECK_EQ_LONG(rb.n, N);
            CHECK_EQ_LONG(rb.status.code, 0);
            CHECK_EQ_LONG(rb.info.has_index, 1);
        } else if (cut == index_off + 1 || cut == index_off + 2) {
            /* 1-2 bytes after a chunk: the start of a chunk or of the index, cannot tell */
            CHECK_EQ_LONG(rb.n, N);
            CHECK_EQ_LONG(rb.status.code, CS_TRACE_ETRUNCCHUNK);
            CHECK_EQ_LONG(rb.status.records_lost, 0);
        } else if (cut == last || cut >= index_off) { /* chunk boundary, or cut in the index: no loss */
            CHECK_EQ_LONG(rb.n, cut == last ? 4 * CR : N);
            CHECK_EQ_LONG(rb.status.code, 0);
            CHECK_EQ_LONG(rb.info.has_index, 0);
        } else {
            if (rb.n != 4 * CR || rb.status.code != CS_TRACE_ETRUNCCHUNK || rb.status.offset != last) {
                cs_test_fail(__FILE__, __LINE__, "cut at %llu: %zu records, status %s at %llu (%s)",
                             (unsigned long long)cut, rb.n, cs_trace_code_name(rb.status.code),
                             (unsigned long long)rb.status.offset, rb.status.msg);
                break;
            }
            CHECK_EQ_LONG(rb.status.bytes_lost, cut - last);
            CHECK_STR_CONTAINS(rb.status.msg, "truncated chunk at offset");
        }
        CHECK(same_events(rb.ev, ev, rb.n));
        free(rb.ev);
    }
    /* a cut inside an earlier chunk: the chunks before it survive */
    readback rb = read_all_bytes(file, (size_t)offs[2] + 100, 0);
    CHECK_EQ_LONG(rb.n, 2 * CR);
    CHECK_EQ_LONG(rb.status.code, CS_TRACE_ETRUNCCHUNK);
    CHECK_EQ_LONG(rb.status.records_lost, CR);
    free(file);
}

TEST(a_corrupt_byte_in_a_chunk_is_a_crc_error_at_that_chunk_with_earlier_records_intact)
{
    enum { N = 500, CR = 100 };
    coroscope_event *ev = make_events(N);
    int fd = write_trace(ev, N, CR, 1);
    char *file;
    size_t size = slurp(fd, &file);
    close(fd);
    uint64_t offs[16];
    REQUIRE(chunk_offsets(file, size, offs, 15) == 5);
    for (int k = 0; k < 5; k++) {
        /* payload byte: CRC error, and the index says how much is lost */
        file[offs[k] + 32 + 64 * 37 + 5] ^= 0x10;
        readback rb = read_all_bytes(file, size, 0);
        CHECK_EQ_LONG(rb.n, k * CR);
        CHECK(same_events(rb.ev, ev, rb.n));
        CHECK_EQ_LONG(rb.status.code, CS_TRACE_ECHUNKCRC);
        CHECK_EQ_LONG(rb.status.offset, offs[k]);
        CHECK_EQ_LONG(rb.status.records_lost, N - k * CR);
        CHECK_STR_CONTAINS(rb.status.msg, "CRC");
        free(rb.ev);
        file[offs[k] + 32 + 64 * 37 + 5] ^= 0x10;
        /* header byte (the record count): corrupt chunk header */
        file[offs[k] + 4] ^= 0x01;
        rb = read_all_bytes(file, size, 0);
        CHECK_EQ_LONG(rb.n, k * CR);
        CHECK_EQ_LONG(rb.status.code, CS_TRACE_EBADCHUNK);
        CHECK_EQ_LONG(rb.status.offset, offs[k]);
        free(rb.ev);
        file[offs[k] + 4] ^= 0x01;
    }
    readback rb = read_all_bytes(file, size, 0);
    CHECK_EQ_LONG(rb.n, N);
    CHECK_EQ_LONG(rb.status.code, 0);
    free(file);
}

/* Found by fuzz_trace: the index magic at a chunk's place used to end reading
 * there, cleanly, even when a valid index listed more chunks after it. */
TEST(in_a_file_with_an_index_a_chunk_that_starts_like_the_index_is_a_corrupt_chunk_not_the_end)
{
    enum { N = 500, CR = 100 };
    coroscope_event *ev = make_events(N);
    int fd = write_trace(ev, N, CR, 1);
    char *file;
    size_t size = slurp(fd, &file);
    close(fd);
    uint64_t offs[16];
    REQUIRE(chunk_offsets(file, size, offs, 15) == 5);
    uint32_t imagic = CS_INDEX_MAGIC;
    memcpy(file + offs[2], &imagic, 4);
    readback rb = read_all_bytes(file, size, 0);
    CHECK(rb.info.has_index);
    CHECK_EQ_LONG(rb.n, 2 * CR);
    CHECK(same_events(rb.ev, ev, rb.n));
    CHECK_EQ_LONG(rb.status.code, CS_TRACE_EBADCHUNK);
    CHECK_EQ_LONG(rb.status.offset, offs[2]);
    CHECK_EQ_LONG(rb.status.records_lost, N - 2 * CR);
    free(rb.ev);
    free(file);
    free(ev);
}

/* Found by fuzz_trace: a chunk whose header (CRCs recomputed) claimed the
 * records of the next eleven chunks was read as such, the index ignored. */
TEST(in_a_file_with_an_index_a_valid_chunk_whose_record_count_differs_from_the_index_is_corrupt)
{
    enum { N = 40, K = 7 };
    coroscope_event *ev = make_events(N);
    int fd = write_trace(ev, N, 1, 1); /* one record per chunk: 96 bytes each */
    char *file;
    size_t size = slurp(fd, &file);
    close(fd);
    uint64_t offs[64];
    REQUIRE(chunk_offsets(file, size, offs, 63) == N);
    /* Chunk K claims 16 records: its payload then spans the next 11 chunks
     * exactly (32 + 16 * 64 = 11 * 96), and both its CRCs are made right. */
    cs_chunk_header h;
    memcpy(&h, file + offs[K], sizeof h);
    h.nrecords = 16;
    h.payload_crc = cs_crc32(0, file + offs[K] + sizeof h, 16 * 64);
    h.header_crc = cs_crc32(0, &h, 28);
    memcpy(file + offs[K], &h, sizeof h);
    readback rb = read_all_bytes(file, size, 0);
    CHECK(rb.info.has_index);
    CHECK_EQ_LONG(rb.n, K);
    CHECK(same_events(rb.ev, ev, rb.n));
    CHECK_EQ_LONG(rb.status.code, CS_TRACE_EBADCHUNK);
    CHECK_EQ_LONG(rb.status.offset, offs[K]);
    CHECK_EQ_LONG(rb.status.records_lost, N - K);
    CHECK_STR_CONTAINS(rb.status.msg, "index");
    free(rb.ev);
    free(file);
    free(ev);
}

TEST(header_problems_have_their_own_codes)
{
    int fd = write_trace(make_events(10), 10, 0, 1);
    char *file;
    size_t size = slurp(fd, &file);
    close(fd);
    readback rb;
    for (size_t n = 0; n < 64; n++) {
        rb = read_all_bytes(file, n, 0);
        if (rb.open_rc != CS_TRACE_ETRUNCHEADER) {
            cs_test_fail(__FILE__, __LINE__, "%zu header bytes: %s (%s)", n, cs_trace_code_name(rb.open_rc),
                         rb.status.msg);
            break;
        }
    }
    CHECK_STR_CONTAINS(rb.status.msg, "truncated header");
    char *bad = malloc(size);
    memcpy(bad, file, size);
    bad[0] = 'X';
    rb = read_all_bytes(bad, size, 0);
    CHECK_EQ_LONG(rb.open_rc, CS_TRACE_EBADMAGIC);
    CHECK_STR_CONTAINS(rb.status.msg, "not a Coroscope trace");
    rb = read_all_bytes("hello world, not a trace at all, but long enough to hold a header", 64, 0);
    CHECK_EQ_LONG(rb.open_rc, CS_TRACE_EBADMAGIC);
    memcpy(bad, file, size);
    bad[8] = 3; /* major 3 */
    rb = read_all_bytes(bad, size, 0);
    CHECK_EQ_LONG(rb.open_rc, CS_TRACE_EVERSION);
    CHECK_STR_CONTAINS(rb.status.msg, "unsupported trace format version 3.0");
    memcpy(bad, file, size);
    bad[40] ^= 1; /* flags, under the header CRC */
    rb = read_all_bytes(bad, size, 0);
    CHECK_EQ_LONG(rb.open_rc, CS_TRACE_EBADHEADER);
    cs_reader *r;
    cs_trace_err err;
    CHECK_EQ_LONG(cs_reader_open_path(&r, "/nonexistent/x.cstrace", 0, &err), CS_TRACE_EIO);
    CHECK_EQ_LONG(err.sys_errno, ENOENT);
    CHECK(r == NULL);
    free(bad);
    free(file);
}

TEST(a_newer_minor_version_with_a_longer_header_opens)
{
    int fd = write_trace(make_events(30), 30, 10, 0); /* no index: offsets move */
    char *file;
    size_t size = slurp(fd, &file);
    close(fd);
    char *v = calloc(1, size + 64);
    memcpy(v, file, 64);
    memcpy(v + 128, file + 64, size - 64);
    cs_trace_header h;
    memcpy(&h, v, 64);
    h.version_minor = 9;
    h.header_size = 128;
    h.crc = cs_crc32(0, &h, 60);
    memcpy(v, &h, 64);
    readback rb = read_all_bytes(v, size + 64, 0);
    CHECK_EQ_LONG(rb.open_rc, 0);
    CHECK_EQ_LONG(rb.info.version_minor, 9);
    CHECK_EQ_LONG(rb.n, 30);
    CHECK_EQ_LONG(rb.status.code, 0);
    free(v);
    free(file);
}

/* ---- seeking and unknown kinds ---------------------------------------------------- */

static void check_seek(int fd, const uint64_t *offs, const coroscope_event *ev, int expect_index)
{
    cs_reader *r;
    cs_trace_err err;
    REQUIRE(cs_reader_open_fd(&r, fd, CS_READ_SKIP_STRINGS, &err) == 0);
    CHECK_EQ_LONG(cs_reader_info(r)->has_index, expect_index);
    coroscope_event e;
    /* chunks of 100 records, ts 1e9 + i*1000: record 537 is in chunk 5 */
    CHECK_EQ_LONG(cs_reader_seek_time(r, ev[537].ts), 0);
    CHECK_EQ_LONG(cs_reader_chunk_offset(r), offs[5]);
    REQUIRE(cs_reader_next(r, &e) == 1);
    CHECK_EQ_LONG(e.ts, ev[500].ts);
    CHECK_EQ_LONG(cs_reader_chunk_offset(r), offs[5]);
    const char *name = cs_reader_string(r, 77, NULL, NULL); /* defined in chunk 0 */
    CHECK(name && strcmp(name, "defined early") == 0);
    /* backwards, to the start, past the end */
    CHECK_EQ_LONG(cs_reader_seek_time(r, 0), 0);
    REQUIRE(cs_reader_next(r, &e) == 1);
    CHECK_EQ_LONG(e.ts, ev[0].ts);
    CHECK_EQ_LONG(cs_reader_seek_time(r, ev[999].ts), 0);
    REQUIRE(cs_reader_next(r, &e) == 1);
    CHECK_EQ_LONG(e.ts, ev[900].ts);
    CHECK_EQ_LONG(cs_reader_seek_time(r, UINT64_MAX), 0);
    CHECK_EQ_LONG(cs_reader_next(r, &e), 0);
    CHECK_EQ_LONG(cs_reader_status(r)->code, 0);
    cs_reader_close(r);
}

TEST(seek_by_time_lands_on_the_chunk_holding_that_time_with_or_without_the_index)
{
    enum { N = 1000 };
    coroscope_event *ev = make_events(N);
    cs_trace_writer *w;
    cs_trace_err err;
    cs_trace_writer_opts o = {.format = 1, .chunk_records = 100};
    char *file;
    uint64_t offs[16];
    /* the string in a chunk of its own, then chunk k+1 holds events 100k.. */
    int fd = memfile(NULL, 0);
    REQUIRE(cs_trace_writer_open_fd(&w, fd, &o, &err) == 0);
    REQUIRE(cs_trace_writer_string(w, 77, "defined early", 13, ev[0].ts, 0, 1) == 0);
    REQUIRE(cs_trace_writer_flush(w) == 0);
    REQUIRE(cs_trace_writer_append(w, ev, N) == 0);
    REQUIRE(cs_trace_writer_close(w, &err) == 0);
    size_t size = slurp(fd, &file);
    REQUIRE(chunk_offsets(file, size, offs, 15) == 11); /* the string chunk + 10 */
    check_seek(fd, offs + 1, ev, 1);
    /* the same file without its footer: a linear scan finds the same chunk */
    int cut = memfile(file, size - 1);
    check_seek(cut, offs + 1, ev, 0);
    close(cut);
    close(fd);
    free(file);
}

TEST(unknown_kinds_and_padding_are_skipped_on_request)
{
    coroscope_event ev[6] = {
        {.ts = 1, .kind = COROSCOPE_EV_CO_RUN}, {.ts = 2, .kind = 200},    {.ts = 3, .kind = COROSCOPE_EV_NONE},
        {.ts = 4, .kind = COROSCOPE_EV_CALL},   {.ts = 5, .kind = 0xffff}, {.ts = 6, .kind = COROSCOPE_EV_DROP},
    };
    int fd = write_trace(ev, 6, 2, 1);
    readback all = read_all_fd(fd, 0);
    CHECK_EQ_LONG(all.n, 6);
    readback known = read_all_fd(fd, CS_READ_SKIP_UNKNOWN);
    REQUIRE(known.n == 3);
    CHECK_EQ_LONG(known.ev[0].ts, 1);
    CHECK_EQ_LONG(known.ev[1].ts, 4);
    CHECK_EQ_LONG(known.ev[2].ts, 6);
    CHECK_EQ_LONG(known.status.code, 0);
    close(fd);
}

/* ---- fuzz ---------------------------------------------------------------------------- */

/* Reads every input to its end; a crash or hang fails the test (the runner's
 * time limit). Fixed seed: a failure reproduces. */
TEST(random_and_mutated_files_give_records_or_a_clear_error_never_a_crash)
{
    rng_state = 0x5EED5EED12345678ull;
    enum { N = 300 };
    coroscope_event *ev = make_events(N);
    int fd = memfile(NULL, 0);
    cs_trace_writer *w;
    cs_trace_err err;
    cs_trace_writer_opts o = {.format = 1, .chunk_records = 40};
    REQUIRE(cs_trace_writer_open_fd(&w, fd, &o, &err) == 0);
    REQUIRE(cs_trace_writer_string(w, 3, "a name that needs several pieces to be written", 46, 1, 0, 1) == 0);
    REQUIRE(cs_trace_writer_append(w, ev, N) == 0);
    REQUIRE(cs_trace_writer_close(w, &err) == 0);
    char *base;
    size_t size = slurp(fd, &base);
    close(fd);
    char *buf = malloc(size + 4096);
    int counts[CS_TRACE_CODE_COUNT] = {0};
    for (int iter = 0; iter < 4000; iter++) {
        size_t n = size;
        memcpy(buf, base, size);
        switch (iter % 5) {
        case 0: /* random bytes, some with a valid header */
            n = (size_t)(rnd() % 4096);
            for (size_t i = 0; i < n; i++) buf[i] = (char)rnd();
            if (iter % 10 == 0 && n >= 64) memcpy(buf, base, 64);
            break;
        case 1: /* flip 1..8 bits */
            for (int k = 1 + (int)(rnd() % 8); k > 0; k--) buf[rnd() % n] ^= (char)(1 << (rnd() % 8));
            break;
        case 2: /* truncate, then maybe flip */
            n = (size_t)(rnd() % size);
            if (n && rnd() % 2) buf[rnd() % n] ^= (char)0xff;
            break;
        case 3: { /* overwrite a run with random bytes */
            size_t at = (size_t)(rnd() % n), len = 1 + (size_t)(rnd() % 64);
            for (size_t i = at; i < at + len && i < n; i++) buf[i] = (char)rnd();
            break;
        }
        case 4: { /* a forged but consistent chunk header claiming many records, at a chunk boundary */
            cs_chunk_header h = {.magic = CS_CHUNK_MAGIC, .nrecords = (uint32_t)(rnd() % (CS_CHUNK_MAX_RECORDS + 2))};
            h.header_crc = cs_crc32(0, &h, 28);
            memcpy(buf + 64, &h, sizeof h);
            break;
        }
        }
        readback rb = read_all_bytes(buf, n, iter % 2 ? CS_READ_SKIP_UNKNOWN : 0);
        int code = rb.open_rc ? rb.open_rc : rb.status.code;
        if (code < 0 || code >= CS_TRACE_CODE_COUNT || (code && !rb.status.msg[0]) || rb.n > n / 64) {
            cs_test_fail(__FILE__, __LINE__, "case %d: code %d, %zu records, \"%s\"", iter, code, rb.n, rb.status.msg);
            break;
        }
        counts[code]++;
        free(rb.ev);
    }
    /* the mutations reach the interesting outcomes */
    CHECK_GT_LONG(counts[CS_TRACE_OK], 0);
    CHECK_GT_LONG(counts[CS_TRACE_EBADMAGIC], 0);
    CHECK_GT_LONG(counts[CS_TRACE_ECHUNKCRC], 0);
    CHECK_GT_LONG(counts[CS_TRACE_EBADCHUNK], 0);
    CHECK_GT_LONG(counts[CS_TRACE_ETRUNCCHUNK], 0);
    CHECK_GT_LONG(counts[CS_TRACE_EBADHEADER], 0);
    free(buf);
    free(base);
}

/* ---- coroscope-dump ---------------------------------------------------------------- */

static const char *dump_path(void)
{
    static char p[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", p, sizeof p - 32);
    REQUIRE(n > 0);
    p[n] = 0;
    char *slash = strrchr(p, '/');
    REQUIRE(slash);
    strcpy(slash, "/../coroscope-dump");
    return p;
}

/* Run coroscope-dump on path; returns the exit status, fills out/errout. */
static int run_dump(const char *path, char *out, size_t outcap, char *errout, size_t errcap)
{
    char tmpo[] = "/tmp/cs-dump-out-XXXXXX", tmpe[] = "/tmp/cs-dump-err-XXXXXX";
    int fo = mkstemp(tmpo), fe = mkstemp(tmpe);
    REQUIRE(fo >= 0 && fe >= 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(fo, 1);
        dup2(fe, 2);
        execl(dump_path(), "coroscope-dump", path, (char *)NULL);
        _exit(127);
    }
    int st;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    ssize_t k = pread(fo, out, outcap - 1, 0);
    out[k > 0 ? k : 0] = 0;
    k = pread(fe, errout, errcap - 1, 0);
    errout[k > 0 ? k : 0] = 0;
    close(fo);
    close(fe);
    unlink(tmpo);
    unlink(tmpe);
    REQUIRE(WIFEXITED(st));
    return WEXITSTATUS(st);
}

#define S 1000000000ull
static coroscope_event evt(uint64_t ts, uint16_t kind, uint16_t worker, uint64_t co, uint64_t a0, uint64_t a1,
                           uint64_t a2, uint64_t a3, uint64_t a4)
{
    return (coroscope_event){
        .ts = ts, .kind = kind, .worker = worker, .tid = 500 + worker, .co = co, .a = {a0, a1, a2, a3, a4}};
}

static void write_sample(const char *path, int close_it)
{
    cs_trace_writer *w;
    cs_trace_err err;
    cs_trace_writer_opts o = {.format = 1, .pid = 4242, .chunk_records = 4};
    REQUIRE(cs_trace_writer_create(&w, path, &o, &err) == 0);
    uint64_t t0 = 12 * S;
    REQUIRE(cs_trace_writer_string(w, 1, "conn-12", 7, t0, 1, 501) == 0);
    REQUIRE(cs_trace_writer_string(w, 2, "handle_connection", 17, t0, 1, 501) == 0);
    coroscope_event ev[] = {
        evt(t0, COROSCOPE_EV_CO_CREATE, 1, 7, 0, 1, 2, 65536, 0),
        evt(t0 + 4311000, COROSCOPE_EV_CO_SUSPEND, 1, 7, COROSCOPE_SUSPEND_CALL, COROSCOPE_HOOK_read, 9, 1, 0),
        evt(t0 + 6020000, COROSCOPE_EV_WAKE, 1, 7, COROSCOPE_READY_FD, 9, 1, 0, 1),
        evt(t0 + 6020500, COROSCOPE_EV_CALL, 1, 7, COROSCOPE_HOOK_read | 3u << 16, 9, 512, 4096ull << 32, 1709000),
        evt(t0 + 7000000, COROSCOPE_EV_CALL, 0, 0, COROSCOPE_HOOK_poll, (uint64_t)-1, (uint64_t)-1,
            (uint64_t)UINT32_MAX << 32 | 4, 250),
        evt(t0 + 8000000, 222, 1, 7, 0, 0, 0, 0, 0), /* unknown kind: skipped */
        evt(t0 + 9000000, COROSCOPE_EV_PREEMPTED, 1, 7, 0x401000, 12000, 1, 0, 0),
        evt(t0 + 1 * S, COROSCOPE_EV_DROP, COROSCOPE_NO_WORKER, 0, 120, t0 + 10 * 1000000, t0 + 12 * 1000000, 0, 0),
        evt(t0 + 2 * S, COROSCOPE_EV_CO_FINISH, 1, 7, COROSCOPE_EXIT_RETURN, 2048, 0, 0, 0),
    };
    REQUIRE(cs_trace_writer_append(w, ev, sizeof ev / sizeof ev[0]) == 0);
    if (close_it)
        REQUIRE(cs_trace_writer_close(w, &err) == 0);
    else
        cs_trace_writer_abandon(w); /* the last 3 records (a partial chunk) never reach the file */
}

TEST(coroscope_dump_renders_a_small_trace_as_readable_lines)
{
    char path[] = "/tmp/cs-trace-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    write_sample(path, 1);
    static char out[16384], err[4096];
    int rc = run_dump(path, out, sizeof out, err, sizeof err);
    const char *expect = "# coroscope trace: pid 4242, format 1.0, events v3, closed cleanly\n"
                         "0.000000 w1 co#7 \"conn-12\" created by a thread entry=\"handle_connection\" stack=65536\n"
                         "0.004311 w1 co#7 \"conn-12\" parked in read (fd 9 readable)\n"
                         "0.006020 w1 co#7 \"conn-12\" woke (fd 9 readable)\n"
                         "0.006020 w1 co#7 \"conn-12\" read(fd=9, 4096) = 512 <1.709ms> parked\n"
                         "0.007000 w0 - poll(timeout=none) = -1 EINTR <250ns>\n"
                         "0.009000 w1 co#7 \"conn-12\" preempted at pc 0x401000 (latency 12.0us, safe point)\n"
                         "1.000000 t66035 - DROPPED 120 events (ring of tid 66035 full) over 2.000ms\n"
                         "2.000000 w1 co#7 \"conn-12\" finished (returned, stack used 2048 bytes)\n";
    CHECK_EQ_LONG(rc, 0);
    if (strcmp(out, expect))
        cs_test_fail(__FILE__, __LINE__, "coroscope-dump printed:\n%s\nexpected:\n%s", out, expect);
    CHECK(err[0] == 0);

    /* corrupt the payload of the third chunk: the first two still print */
    char *file;
    fd = open(path, O_RDWR);
    size_t size = slurp(fd, &file);
    uint64_t offs[16];
    REQUIRE(chunk_offsets(file, size, offs, 15) == 3);
    char x = file[offs[2] + 40];
    x ^= 1;
    REQUIRE(pwrite(fd, &x, 1, (off_t)offs[2] + 40) == 1);
    close(fd);
    rc = run_dump(path, out, sizeof out, err, sizeof err);
    CHECK_EQ_LONG(rc, 1);
    CHECK_STR_CONTAINS(out, "woke (fd 9 readable)");
    CHECK(strstr(out, "preempted") == NULL);
    CHECK_STR_CONTAINS(err, "corrupt chunk at offset");
    CHECK_STR_CONTAINS(err, "CRC");
    free(file);

    /* a crashed writer: no index, complete chunks print, exit 0 */
    write_sample(path, 0);
    rc = run_dump(path, out, sizeof out, err, sizeof err);
    CHECK_EQ_LONG(rc, 0);
    CHECK_STR_CONTAINS(out, "no index (the writer did not close it)");
    CHECK_STR_CONTAINS(out, "poll(timeout=none)");
    CHECK(strstr(out, "preempted") == NULL);

    /* errors: missing file, not a trace */
    rc = run_dump("/nonexistent/x.cstrace", out, sizeof out, err, sizeof err);
    CHECK_EQ_LONG(rc, 1);
    CHECK_STR_CONTAINS(err, "No such file or directory");
    fd = open(path, O_WRONLY | O_TRUNC);
    REQUIRE(write(fd, "#!/bin/sh\necho hello, this is not a trace file\n", 47) == 47);
    close(fd);
    rc = run_dump(path, out, sizeof out, err, sizeof err);
    CHECK_EQ_LONG(rc, 1);
    CHECK_STR_CONTAINS(err, "not a Coroscope trace");
    unlink(path);
}

/* ---- ordering a consumer's batch --------------------------------------------------- */

/* `runs` ascending runs of `per` records each, as a drain of several rings
 * gives them; ts drawn from a small range so that many are equal; a0 is
 * the record's position in the batch (to check stability). */
static coroscope_event *make_runs(size_t runs, size_t per)
{
    coroscope_event *ev = calloc(runs * per, sizeof *ev);
    for (size_t r = 0; r < runs; r++) {
        uint64_t ts = 1000 + rnd() % 50;
        for (size_t i = 0; i < per; i++) {
            ts += rnd() % 3; /* steps of 0, 1 or 2 ns: equal ts within and across runs */
            coroscope_event *e = &ev[r * per + i];
            e->ts = ts;
            e->kind = COROSCOPE_EV_CALL;
            e->a[0] = r * per + i;
        }
    }
    return ev;
}

static void check_sorted_stably(const coroscope_event *ev, size_t n)
{
    long bad = 0;
    for (size_t i = 1; i < n; i++)
        if (ev[i - 1].ts > ev[i].ts || (ev[i - 1].ts == ev[i].ts && ev[i - 1].a[0] > ev[i].a[0])) bad++;
    CHECK_EQ_LONG(bad, 0);
}

TEST(a_batch_of_one_to_many_ascending_runs_comes_out_in_time_order_with_equal_times_in_batch_order)
{
    static const size_t cases[][2] = {{1, 500}, {2, 300}, {3, 300}, {16, 50}, {17, 50}, {40, 20}, {1000, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t runs = cases[c][0], per = cases[c][1], n = runs * per;
        coroscope_event *ev = make_runs(runs, per), *copy = malloc(n * sizeof *ev), *tmp = malloc(n * sizeof *ev);
        memcpy(copy, ev, n * sizeof *ev);
        /* in place */
        cs_events_sort(copy, n, tmp);
        check_sorted_stably(copy, n);
        /* without the last copy: the same order, wherever it ends up */
        coroscope_event *sorted = cs_events_sorted(ev, n, tmp);
        CHECK(sorted == ev || sorted == tmp);
        CHECK(memcmp(sorted, copy, n * sizeof *ev) == 0);
        if (runs == 1) CHECK(sorted == ev); /* already in order: left where it is */
        free(ev);
        free(copy);
        free(tmp);
    }
}
