/*
 * fuzz_link.c — libFuzzer target: the Node addon's decode path, without
 * Node. addon/link.c is the addon's C half (addon.cc only copies what its
 * sink receives into JS values: SinkEvents copies the event bytes and makes
 * a string of each (text, len)); it is included whole here, so the target
 * drives its static functions as cs_link_run does: read_socket (control
 * lines and ring fds with SCM_RIGHTS), add_ring (cs_ring_attach), drain
 * (cs_ring_read), post (sort, record, resolve strings, strip STRING
 * records, count drops), report_pending_drops. The engine's side is played
 * by real event rings written with the real producer and by bytes and fds
 * sent on a socketpair.
 *
 * Input (reads past the end give zeros):
 *   1 byte      options: bit 0 record to a trace file; bits 4..6: batch
 *               size 8 << n records
 *   then        operations, 1 byte each plus operands:
 *     0 C       a new ring of 2 << (C % 8) records, announced on the socket
 *               as the engine does (a ring line with its memfd); at most 4
 *     1 R N     N % 32 + 1 records (64 bytes each, from the input) written
 *               to ring R by its producer; a DROP kind is made unknown so
 *               that every loss counted is one the ring counted
 *     2 L       L bytes from the input sent as control text
 *     3 K       a line with an fd that is not a ring (K even: a pipe, odd:
 *               an unsealed memfd)
 *     4         flush the producers and drain
 *     5         hand the batch over (post)
 *
 * Checked beyond "no crash, no leak, no undefined behaviour":
 *   - every batch handed over is sorted by time and holds no STRING record;
 *     across batches, a record older than one handed over before is one
 *     the consumer counted as late (wire/consumer.h "Order");
 *     each string given with it is the reader's text for that id, with a
 *     NUL at its length; control lines hold no newline and ring lines never
 *     reach the sink;
 *   - loss accounting: the records written to the rings equal the records
 *     handed over (STRING records included) plus the counts of the DROP
 *     records — made = kept + lost, exactly;
 *   - recording: the trace file written meanwhile reads back clean, with
 *     its index, holding every record read from the rings.
 */
#include "link.c"

#include <sys/ioctl.h>
#include <sys/mman.h>

#include "fuzz.h"

#define NRINGS 4

typedef struct state {
    cs_link *l;
    uint64_t handed; /* events handed over */
    uint64_t drop_records, dropped;
    uint64_t out_ts; /* the largest ts handed over in earlier batches */
    uint64_t late;   /* records older than that */
} state;

static void sink_events(void *ctx, const coroscope_event *ev, size_t n, const cs_link_string *s, size_t ns)
{
    state *st = ctx;
    uint64_t out_ts = st->out_ts;
    for (size_t i = 0; i < n; i++) {
        st->late += ev[i].ts < st->out_ts;
        if (ev[i].ts > out_ts) out_ts = ev[i].ts;
        FUZZ_CHECK(ev[i].kind != COROSCOPE_EV_STRING && ev[i].kind != COROSCOPE_EV_STRING_MORE);
        if (i) FUZZ_CHECK(ev[i - 1].ts <= ev[i].ts);
        if (ev[i].kind == COROSCOPE_EV_DROP) {
            st->drop_records++;
            st->dropped += ev[i].a[0];
        }
    }
    fuzz_touch(ev, n * sizeof *ev); /* SinkEvents copies the bytes */
    for (size_t i = 0; i < ns; i++) {
        size_t len = 0;
        const char *t = cs_reader_string(st->l->strings, s[i].id, &len, NULL);
        FUZZ_CHECK(s[i].id != 0 && s[i].text != NULL);
        FUZZ_CHECK(t == s[i].text && len == s[i].len);
        FUZZ_CHECK(s[i].text[s[i].len] == '\0');
        fuzz_touch(s[i].text, s[i].len); /* SinkEvents: std::string(text, len) */
    }
    st->out_ts = out_ts;
    st->handed += n;
}

static void sink_output(void *ctx, int stream, const char *data, size_t n)
{
    FUZZ_CHECK(!"no output pipes here");
}

static void sink_line(void *ctx, const char *line)
{
    FUZZ_CHECK(strchr(line, '\n') == NULL);
    FUZZ_CHECK(strncmp(line, "{\"event\":\"ring\"", 15) != 0);
    fuzz_touch(line, strlen(line));
}

static void sink_exit(void *ctx, int code, int sig) {}

static void sink_error(void *ctx, const char *msg)
{
    FUZZ_CHECK(msg != NULL && msg[0] != '\0');
}

static int sink_busy(void *ctx)
{
    return 0;
}

/* Send bytes (and an fd) as the engine does, then let the link read them. */
static void send_and_read(cs_link *l, const cs_link_sink *s, int peer, const void *b, size_t n, int fd)
{
    if (n == 0 && fd < 0) return;
    FUZZ_CHECK(cs_send_fd(peer, b, n, fd) == (ssize_t)n);
    int pending;
    do FUZZ_CHECK(read_socket(l, s) == 1);
    while (ioctl(l->sock, FIONREAD, &pending) == 0 && pending > 0);
}

static void flush_and_drain(cs_link *l, const cs_link_sink *s, cs_ring *prod, int nprod)
{
    for (int i = 0; i < nprod; i++) cs_ring_flush(&prod[i]);
    drain(l, s);
}

static void check_recording(const char *path, uint64_t records)
{
    cs_reader *r;
    cs_trace_err err;
    FUZZ_CHECK(cs_reader_open_path(&r, path, 0, &err) == 0);
    FUZZ_CHECK(cs_reader_info(r)->has_index);
    coroscope_event ev;
    uint64_t n = 0;
    while (cs_reader_next(r, &ev) == 1) n++;
    FUZZ_CHECK(cs_reader_status(r)->code == CS_TRACE_OK);
    FUZZ_CHECK(n == records);
    cs_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in in = {data, size};
    uint8_t opts = fuzz_u8(&in);
    int recording = opts & 1;
    char path[64] = "", err[256];
    int recfd = -1, code = 0;
    if (recording) {
        recfd = memfd_create("fuzz-link-record", MFD_CLOEXEC);
        FUZZ_CHECK(recfd >= 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", recfd);
    }
    cs_link *l = link_new(8u << ((opts >> 4) & 7), 1, recording ? path : NULL, "drop", err, sizeof err, &code);
    FUZZ_CHECK(l != NULL);
    l->pid = getpid();
    FUZZ_CHECK(open_record(l, err, sizeof err) == 0);
    int sv[2];
    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    l->sock = sv[0];
    state st = {.l = l};
    cs_link_sink sink = {&st, sink_events, sink_output, sink_line, sink_exit, sink_error, sink_busy};

    cs_ring prod[NRINGS];
    int nprod = 0;
    uint64_t made = 0;
    for (int ops = 0; ops < 1024 && fuzz_left(&in); ops++) {
        switch (fuzz_u8(&in) % 6) {
        case 0: {
            uint32_t cap = 2u << (fuzz_u8(&in) % 8);
            if (nprod == NRINGS || cs_ring_create(&prod[nprod], cap, 1000 + (uint32_t)nprod, (uint32_t)nprod)) break;
            char line[128];
            int n = snprintf(line, sizeof line, "{\"event\":\"ring\",\"tid\":%d,\"worker\":%d}\n", 1000 + nprod, nprod);
            uint32_t before = l->cons.nrings;
            send_and_read(l, &sink, sv[1], line, (size_t)n, prod[nprod].fd);
            if (l->cons.nrings ==
                before) { /* refused (the line arrived after earlier junk): not a stream to account for */
                cs_ring_destroy(&prod[nprod]);
                break;
            }
            nprod++;
            break;
        }
        case 1: {
            uint8_t r = fuzz_u8(&in), n = fuzz_u8(&in) % 32 + 1;
            for (int i = 0; i < n; i++) {
                coroscope_event ev;
                fuzz_take(&in, &ev, sizeof ev);
                if (ev.kind == COROSCOPE_EV_DROP) ev.kind = 0xffff;
                if (nprod) {
                    int w = cs_ring_write(&prod[r % nprod], &ev);
                    FUZZ_CHECK(w == 0 || w == ENOBUFS);
                    made++;
                }
            }
            break;
        }
        case 2: {
            uint8_t n = fuzz_u8(&in);
            char b[256];
            fuzz_take(&in, b, n);
            send_and_read(l, &sink, sv[1], b, n, -1);
            break;
        }
        case 3: {
            int p[2] = {-1, -1}, fd;
            if (fuzz_u8(&in) & 1) {
                char junk[CS_RING_HEADER_SIZE + 64];
                fuzz_take(&in, junk, sizeof junk);
                fd = fuzz_memfd("fuzz-not-a-ring", junk, sizeof junk);
            } else {
                FUZZ_CHECK(pipe2(p, O_CLOEXEC) == 0);
                fd = p[0];
            }
            static const char line[] = "{\"event\":\"ring\",\"tid\":1,\"worker\":-1}\n";
            if (fd >= 0) send_and_read(l, &sink, sv[1], line, sizeof line - 1, fd);
            if (fd >= 0) close(fd);
            if (p[1] >= 0) close(p[1]);
            break;
        }
        case 4: flush_and_drain(l, &sink, prod, nprod); break;
        case 5: post(l, &sink, 0); break;
        }
    }
    /* The end: everything read, each loss reported by a DROP record — the
     * producer's own, or the consumer's for a loss still pending when the
     * stream ends (cs_consumer_end_losses, as cs_link_run does at exit). */
    for (int round = 0; round < 3; round++) flush_and_drain(l, &sink, prod, nprod);
    report_pending_drops(l, &sink);
    for (int i = 0; i < nprod; i++) FUZZ_CHECK(atomic_load(&prod[i].hdr->drop_pending) == 0);
    post(l, &sink, 1);
    uint64_t read = atomic_load(&l->st_events);
    FUZZ_CHECK(made == read - st.drop_records + st.dropped);
    FUZZ_CHECK(atomic_load(&l->st_dropped) == st.dropped);
    FUZZ_CHECK(st.late <= l->cons.late);
    if (recording) {
        cs_trace_err te;
        FUZZ_CHECK(atomic_load(&l->st_rec_err) == 0);
        FUZZ_CHECK(cs_trace_writer_close(l->writer, &te) == 0);
        l->writer = NULL;
        check_recording(path, read);
    }
    cs_link_free(l);
    close(sv[1]);
    for (int i = 0; i < nprod; i++) cs_ring_destroy(&prod[i]);
    if (recfd >= 0) close(recfd);
    return 0;
}
