/*
 * make_seeds.c — writes the seed corpus of the fuzz targets (fuzz/corpus/)
 * with the real trace writer and the real ring producer, from the records
 * of a trace the engine recorded (COROSCOPE_TRACE). Run by fuzz/make-seeds;
 * its output is committed, so fuzzing never depends on running it.
 *
 *     make_seeds ENGINE_TRACE OUTDIR
 *
 * OUTDIR/fuzz_trace: trace files (closed, abandoned, cut, corrupt, a longer
 * header of a newer minor version, long strings over several chunks);
 * OUTDIR/fuzz_ring and OUTDIR/fuzz_link: inputs in those targets' formats
 * (see fuzz_ring.c, fuzz_link.c) built from real rings and real records.
 * The control seeds are plain text, written by fuzz/make-seeds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reader.h"
#include "ring.h"

static const char *outdir;
static coroscope_event engine[4096];
static size_t nengine;

static void die(const char *what)
{
    fprintf(stderr, "make_seeds: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void put_file(const char *target, const char *name, const void *b, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", outdir, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", outdir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f)) die(path);
}

static void *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) die(path);
    static char buf[1 << 20];
    *n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

/* ---- trace files ---------------------------------------------------------------- */

static void write_trace(const char *name, uint32_t chunk_records, int close_it, size_t cut_tail)
{
    char tmp[] = "/tmp/make_seeds-XXXXXX";
    int fd = mkstemp(tmp);
    if (fd < 0) die("mkstemp");
    cs_trace_writer *w;
    cs_trace_err err;
    cs_trace_writer_opts o = {.pid = 4242, .mono_ns = 1000, .real_ns = 2000, .chunk_records = chunk_records};
    if (cs_trace_writer_open_fd(&w, fd, &o, &err)) die(err.msg);
    static char text[300];
    for (size_t i = 0; i < sizeof text; i++) text[i] = (char)('a' + i % 26);
    text[100] = '\0'; /* strings may hold NULs */
    cs_trace_writer_string(w, 7, "worker", 6, 10, 0, 1);
    cs_trace_writer_string(w, 8, text, sizeof text, 11, 0, 1);
    cs_trace_writer_append(w, engine, nengine < 64 ? nengine : 64);
    if (close_it) {
        if (cs_trace_writer_close(w, &err)) die(err.msg);
    } else {
        cs_trace_writer_flush(w);
        cs_trace_writer_abandon(w);
    }
    struct stat st;
    fstat(fd, &st);
    size_t n = (size_t)st.st_size - cut_tail;
    char *b = malloc(n);
    if (!b || pread(fd, b, n, 0) != (ssize_t)n) die("pread");
    put_file("fuzz_trace", name, b, n);
    free(b);
    close(fd);
    unlink(tmp);
}

/* A newer minor version: a 128-byte header, the chunks after it. */
static void write_longer_header(const char *from)
{
    size_t n;
    const char *b = slurp(from, &n);
    char *o = calloc(1, n + 64);
    cs_trace_header h;
    memcpy(&h, b, sizeof h);
    h.version_minor = 1;
    h.header_size = 128;
    h.crc = cs_crc32(0, &h, 60);
    memcpy(o, &h, sizeof h);
    memcpy(o + 128, b + 64, n - 64);
    put_file("fuzz_trace", "minor-1-header-128", o, n + 64);
    free(o);
}

static void write_corrupt(const char *name, const char *from, size_t at)
{
    size_t n;
    char *b = slurp(from, &n);
    if (at < n) b[at] ^= 0x20;
    put_file("fuzz_trace", name, b, n);
}

/* ---- rings ---------------------------------------------------------------------- */

typedef struct seed {
    unsigned char b[65536];
    size_t n;
} seed;

static void add(seed *s, const void *p, size_t n)
{
    memcpy(s->b + s->n, p, n);
    s->n += n;
}

static void add8(seed *s, uint8_t v)
{
    add(s, &v, 1);
}

/* fuzz_ring: the header image, shape 0, the slots, then `ops`. */
static void ring_seed(const char *name, uint32_t cap, size_t nwrite, int overwrite, const uint8_t *ops, size_t nops)
{
    cs_ring r;
    if (cs_ring_create(&r, cap, 1234, 0)) die("cs_ring_create");
    cs_ring_set_overwrite(&r, overwrite);
    for (size_t i = 0; i < nwrite; i++) cs_ring_write(&r, &engine[i % nengine]);
    cs_ring_flush(&r);
    static seed s;
    s.n = 0;
    add(&s, r.hdr, 256);
    add8(&s, 0);
    uint16_t nslots = (uint16_t)cap;
    add(&s, &nslots, 2);
    add(&s, r.slots, (size_t)cap * COROSCOPE_EVENT_SIZE);
    add(&s, ops, nops);
    put_file("fuzz_ring", name, s.b, s.n);
    cs_ring_destroy(&r);
}

/* ---- link ----------------------------------------------------------------------- */

static void link_records(seed *s, uint8_t ring, size_t from, size_t n)
{
    while (n) {
        size_t k = n < 32 ? n : 32;
        add8(s, 1);
        add8(s, ring);
        add8(s, (uint8_t)(k - 1));
        for (size_t i = 0; i < k; i++) {
            coroscope_event e = engine[(from + i) % nengine];
            add(s, &e, sizeof e);
        }
        from += k;
        n -= k;
    }
}

static void link_text(seed *s, const char *t)
{
    add8(s, 2);
    add8(s, (uint8_t)strlen(t));
    add(s, t, strlen(t));
}

static void link_seeds(void)
{
    static seed s;
    /* Recording, two rings, the engine's records, replies, drains and posts. */
    s.n = 0;
    add8(&s, 1 | (3 << 4));
    add8(&s, 0), add8(&s, 5); /* a ring of 64 */
    add8(&s, 0), add8(&s, 4); /* a ring of 32 */
    link_text(&s, "{\"ok\":true,\"protocol\":1}\n{\"ok\":true,\"subscribed\":true}\n");
    link_records(&s, 0, 0, nengine < 60 ? nengine : 60);
    add8(&s, 4);
    link_records(&s, 1, 60, 40);
    add8(&s, 4), add8(&s, 5);
    link_text(&s, "{\"ok\":true,\"paused\":true}\n{\"ok\":tr");
    link_text(&s, "ue,\"steps\":3}\r\n");
    add8(&s, 5);
    put_file("fuzz_link", "record-two-rings", s.b, s.n);

    /* A small ring written past its end: drops, then their DROP records. */
    s.n = 0;
    add8(&s, 0);
    add8(&s, 0), add8(&s, 2); /* a ring of 8 */
    link_records(&s, 0, 0, 40);
    add8(&s, 4);
    link_records(&s, 0, 40, 20);
    add8(&s, 4), add8(&s, 5);
    put_file("fuzz_link", "drops", s.b, s.n);

    /* An fd that is not a ring, and one that is not sealed. */
    s.n = 0;
    add8(&s, 0);
    add8(&s, 3), add8(&s, 0);
    add8(&s, 3), add8(&s, 1);
    for (int i = 0; i < 4096 + 64; i++) add8(&s, 0);
    add8(&s, 0), add8(&s, 3);
    link_records(&s, 0, 0, 10);
    add8(&s, 4), add8(&s, 5);
    put_file("fuzz_link", "foreign-fds", s.b, s.n);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: make_seeds ENGINE_TRACE OUTDIR\n");
        return 2;
    }
    outdir = argv[2];
    cs_reader *r;
    cs_trace_err err;
    if (cs_reader_open_path(&r, argv[1], 0, &err)) {
        fprintf(stderr, "make_seeds: %s\n", err.msg);
        return 1;
    }
    while (nengine < sizeof engine / sizeof engine[0] && cs_reader_next(r, &engine[nengine]) == 1) nengine++;
    cs_reader_close(r);
    if (!nengine) {
        fprintf(stderr, "make_seeds: %s holds no records\n", argv[1]);
        return 1;
    }

    write_trace("writer-closed", 16, 1, 0);
    write_trace("writer-abandoned", 16, 0, 0);
    write_trace("writer-cut-in-a-chunk", 16, 0, 100);
    write_trace("writer-one-record-chunks", 1, 1, 0);
    char from[4096];
    snprintf(from, sizeof from, "%s/fuzz_trace/writer-abandoned", outdir);
    write_longer_header(from);
    snprintf(from, sizeof from, "%s/fuzz_trace/writer-closed", outdir);
    write_corrupt("writer-closed-payload-flipped", from, 64 + 32 + 64 * 3 + 10);

    static const uint8_t read_all[] = {0, 255, 0, 255, 0, 255, 0, 255};
    static const uint8_t hostile[] = {0,    3,    3, 5,  0, 7,   2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0x7f, 0, 10, 1, 200, 0, 255,  4,    1,    0,    255};
    uint8_t produce[2 + 2 * (1 + 64) + 1 + 2];
    size_t np = 0;
    produce[np++] = 0, produce[np++] = 10;
    for (int i = 0; i < 2; i++) {
        produce[np++] = 6;
        memcpy(produce + np, &engine[i % nengine], 64);
        np += 64;
    }
    produce[np++] = 7;
    produce[np++] = 0, produce[np++] = 255;
    ring_seed("engine-records", 64, nengine < 40 ? nengine : 40, 0, read_all, sizeof read_all);
    ring_seed("full-with-drops", 16, 40, 0, read_all, sizeof read_all);
    ring_seed("overwritten-flight-recorder", 16, 100, 1, read_all, sizeof read_all);
    ring_seed("hostile-head-and-tail", 32, 20, 0, hostile, sizeof hostile);
    ring_seed("producer-and-consumer", 16, 5, 0, produce, np);

    link_seeds();
    return 0;
}
