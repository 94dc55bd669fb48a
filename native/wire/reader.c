/*
 * reader.c — trace file reader (reader.h) of formats 1 and 2, CRC-32 and the
 * name tables.
 *
 * The chunk area is [data_start, data_end): data_end is the index offset when
 * the footer and the index check out, the file size otherwise. Chunks are
 * read whole (pread of header, then payload) and verified — CRCs, and for
 * format 2 every size before it is allocated and every column while it is
 * decoded (trace_v2.c) — before any record of them is handed out. Reading
 * stops for good (until a seek) at the first chunk that fails; the status
 * describes it. Both formats come out as the same 64-byte records. With a
 * valid index, each chunk must also be the index's entry at its offset (same
 * record count): reading and the index never disagree on what the file holds.
 *
 * The string table is keyed by ids the file chooses, so it is hashed with a
 * per-process random key (khash.h): no file can make its probes long.
 */
#include "reader.h"
#include "khash.h"
#include "trace_v2.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- CRC-32 (reflected 0xEDB88320, slicing by 8) ------------------------------ */

/* crc_tab[0] is the classic byte table; crc_tab[k][i] is the CRC of byte i
 * followed by k zero bytes, so eight bytes are folded with eight lookups
 * (~8x the byte-at-a-time speed: a trace's chunks are CRC'd on every write
 * and every read). Built before main (and again, identically, by a first
 * caller that ran earlier: the values do not depend on who builds them). */
static uint32_t crc_tab[8][256];

__attribute__((constructor)) static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        crc_tab[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int k = 1; k < 8; k++) crc_tab[k][i] = (crc_tab[k - 1][i] >> 8) ^ crc_tab[0][crc_tab[k - 1][i] & 0xff];
}

uint32_t cs_crc32(uint32_t crc, const void *p, uint64_t n)
{
    if (__builtin_expect(crc_tab[0][1] == 0, 0)) crc_init();
    const unsigned char *b = p;
    crc = ~crc;
    for (; n >= 8; b += 8, n -= 8) {
        uint64_t v;
        memcpy(&v, b, 8); /* little-endian: the first byte is the low one */
        v ^= crc;
        crc = crc_tab[7][v & 0xff] ^ crc_tab[6][(v >> 8) & 0xff] ^ crc_tab[5][(v >> 16) & 0xff] ^
              crc_tab[4][(v >> 24) & 0xff] ^ crc_tab[3][(v >> 32) & 0xff] ^ crc_tab[2][(v >> 40) & 0xff] ^
              crc_tab[1][(v >> 48) & 0xff] ^ crc_tab[0][v >> 56];
    }
    while (n--) crc = (crc >> 8) ^ crc_tab[0][(crc ^ *b++) & 0xff];
    return ~crc;
}

/* ---- names ----------------------------------------------------------------------- */

static const char *const code_names[CS_TRACE_CODE_COUNT] = {
    "CS_TRACE_OK",        "CS_TRACE_EIO",       "CS_TRACE_ENOMEM",       "CS_TRACE_EINVAL",
    "CS_TRACE_EBADMAGIC", "CS_TRACE_EVERSION",  "CS_TRACE_ETRUNCHEADER", "CS_TRACE_EBADHEADER",
    "CS_TRACE_ECHUNKCRC", "CS_TRACE_EBADCHUNK", "CS_TRACE_ETRUNCCHUNK",  "CS_TRACE_EBADDATA",
};

const char *cs_trace_code_name(int code)
{
    return code >= 0 && code < CS_TRACE_CODE_COUNT ? code_names[code] : "CS_TRACE_?";
}

const char *cs_event_kind_name(unsigned kind)
{
    switch (kind) {
    case COROSCOPE_EV_PROCESS: return "PROCESS";
    case COROSCOPE_EV_CONFIG: return "CONFIG";
    case COROSCOPE_EV_THREAD: return "THREAD";
    case COROSCOPE_EV_STRING: return "STRING";
    case COROSCOPE_EV_STRING_MORE: return "STRING_MORE";
    case COROSCOPE_EV_CLOCK: return "CLOCK";
    case COROSCOPE_EV_LINEAGE: return "LINEAGE";
    case COROSCOPE_EV_PROCESS_EXIT: return "PROCESS_EXIT";
    case COROSCOPE_EV_SPAWN: return "SPAWN";
    case COROSCOPE_EV_CO_CREATE: return "CO_CREATE";
    case COROSCOPE_EV_CO_READY: return "CO_READY";
    case COROSCOPE_EV_CO_RUN: return "CO_RUN";
    case COROSCOPE_EV_CO_SUSPEND: return "CO_SUSPEND";
    case COROSCOPE_EV_CO_YIELD: return "CO_YIELD";
    case COROSCOPE_EV_CO_FINISH: return "CO_FINISH";
    case COROSCOPE_EV_CO_MIGRATE: return "CO_MIGRATE";
    case COROSCOPE_EV_CO_INFO: return "CO_INFO";
    case COROSCOPE_EV_WAKE: return "WAKE";
    case COROSCOPE_EV_CALL: return "CALL";
    case COROSCOPE_EV_CALL_ENTER: return "CALL_ENTER";
    case COROSCOPE_EV_CALL_ADDR: return "CALL_ADDR";
    case COROSCOPE_EV_PREEMPT_SENT: return "PREEMPT_SENT";
    case COROSCOPE_EV_PREEMPTED: return "PREEMPTED";
    case COROSCOPE_EV_PREEMPT_DEFERRED: return "PREEMPT_DEFERRED";
    case COROSCOPE_EV_WORKER_IDLE: return "WORKER_IDLE";
    case COROSCOPE_EV_WORKER_BUSY: return "WORKER_BUSY";
    case COROSCOPE_EV_QUEUES: return "QUEUES";
    case COROSCOPE_EV_DROP: return "DROP";
    case COROSCOPE_EV_OFFCPU: return "OFFCPU";
    case COROSCOPE_EV_STALL: return "STALL";
    case COROSCOPE_EV_STALL_END: return "STALL_END";
    case COROSCOPE_EV_CO_STACK: return "CO_STACK";
    case COROSCOPE_EV_MAPPING: return "MAPPING";
    case COROSCOPE_EV_FD_DESC: return "FD_DESC";
    case COROSCOPE_EV_FD_CLOSE: return "FD_CLOSE";
    case COROSCOPE_EV_WAKER: return "WAKER";
    default: return NULL;
    }
}

int cs_event_kind_known(unsigned kind)
{
    return cs_event_kind_name(kind) != NULL;
}

static const char *const hook_names[COROSCOPE_HOOK_COUNT] = {
    [COROSCOPE_HOOK_sleep] = "sleep",
    [COROSCOPE_HOOK_usleep] = "usleep",
    [COROSCOPE_HOOK_nanosleep] = "nanosleep",
    [COROSCOPE_HOOK_clock_nanosleep] = "clock_nanosleep",
    [COROSCOPE_HOOK_poll] = "poll",
    [COROSCOPE_HOOK_ppoll] = "ppoll",
    [COROSCOPE_HOOK_select] = "select",
    [COROSCOPE_HOOK_pselect] = "pselect",
    [COROSCOPE_HOOK_epoll_wait] = "epoll_wait",
    [COROSCOPE_HOOK_epoll_pwait] = "epoll_pwait",
    [COROSCOPE_HOOK_accept] = "accept",
    [COROSCOPE_HOOK_accept4] = "accept4",
    [COROSCOPE_HOOK_connect] = "connect",
    [COROSCOPE_HOOK_read] = "read",
    [COROSCOPE_HOOK_write] = "write",
    [COROSCOPE_HOOK_readv] = "readv",
    [COROSCOPE_HOOK_writev] = "writev",
    [COROSCOPE_HOOK_recv] = "recv",
    [COROSCOPE_HOOK_recvfrom] = "recvfrom",
    [COROSCOPE_HOOK_recvmsg] = "recvmsg",
    [COROSCOPE_HOOK_send] = "send",
    [COROSCOPE_HOOK_sendto] = "sendto",
    [COROSCOPE_HOOK_sendmsg] = "sendmsg",
    [COROSCOPE_HOOK___read_chk] = "__read_chk",
    [COROSCOPE_HOOK___recv_chk] = "__recv_chk",
    [COROSCOPE_HOOK___recvfrom_chk] = "__recvfrom_chk",
    [COROSCOPE_HOOK___poll_chk] = "__poll_chk",
    [COROSCOPE_HOOK___ppoll_chk] = "__ppoll_chk",
    [COROSCOPE_HOOK_socket] = "socket",
    [COROSCOPE_HOOK_socketpair] = "socketpair",
    [COROSCOPE_HOOK_pipe] = "pipe",
    [COROSCOPE_HOOK_pipe2] = "pipe2",
    [COROSCOPE_HOOK_eventfd] = "eventfd",
    [COROSCOPE_HOOK_close] = "close",
    [COROSCOPE_HOOK_close_range] = "close_range",
    [COROSCOPE_HOOK_dup] = "dup",
    [COROSCOPE_HOOK_dup2] = "dup2",
    [COROSCOPE_HOOK_dup3] = "dup3",
    [COROSCOPE_HOOK_fcntl] = "fcntl",
    [COROSCOPE_HOOK_fcntl64] = "fcntl64",
    [COROSCOPE_HOOK_ioctl] = "ioctl",
    [COROSCOPE_HOOK_setsockopt] = "setsockopt",
    [COROSCOPE_HOOK_getsockopt] = "getsockopt",
    [COROSCOPE_HOOK_sigaction] = "sigaction",
    [COROSCOPE_HOOK_signal] = "signal",
    [COROSCOPE_HOOK_getaddrinfo] = "getaddrinfo",
    [COROSCOPE_HOOK_getnameinfo] = "getnameinfo",
    [COROSCOPE_HOOK_gethostbyname] = "gethostbyname",
    [COROSCOPE_HOOK_gethostbyname2] = "gethostbyname2",
    [COROSCOPE_HOOK_gethostbyname_r] = "gethostbyname_r",
    [COROSCOPE_HOOK_gethostbyname2_r] = "gethostbyname2_r",
    [COROSCOPE_HOOK_gethostbyaddr] = "gethostbyaddr",
    [COROSCOPE_HOOK_gethostbyaddr_r] = "gethostbyaddr_r",
    [COROSCOPE_HOOK_res_query] = "res_query",
    [COROSCOPE_HOOK_res_search] = "res_search",
    [COROSCOPE_HOOK___res_query] = "__res_query",
    [COROSCOPE_HOOK___res_search] = "__res_search",
    [COROSCOPE_HOOK_open] = "open",
    [COROSCOPE_HOOK_open64] = "open64",
    [COROSCOPE_HOOK_openat] = "openat",
    [COROSCOPE_HOOK_openat64] = "openat64",
    [COROSCOPE_HOOK_pread] = "pread",
    [COROSCOPE_HOOK_pread64] = "pread64",
    [COROSCOPE_HOOK_preadv] = "preadv",
    [COROSCOPE_HOOK_preadv64] = "preadv64",
    [COROSCOPE_HOOK_pwrite] = "pwrite",
    [COROSCOPE_HOOK_pwrite64] = "pwrite64",
    [COROSCOPE_HOOK_pwritev] = "pwritev",
    [COROSCOPE_HOOK_pwritev64] = "pwritev64",
    [COROSCOPE_HOOK_fsync] = "fsync",
    [COROSCOPE_HOOK_fdatasync] = "fdatasync",
    [COROSCOPE_HOOK_stat] = "stat",
    [COROSCOPE_HOOK_stat64] = "stat64",
    [COROSCOPE_HOOK_lstat] = "lstat",
    [COROSCOPE_HOOK_lstat64] = "lstat64",
    [COROSCOPE_HOOK_fstat] = "fstat",
    [COROSCOPE_HOOK_fstat64] = "fstat64",
    [COROSCOPE_HOOK_fstatat] = "fstatat",
    [COROSCOPE_HOOK_fstatat64] = "fstatat64",
    [COROSCOPE_HOOK_fread] = "fread",
    [COROSCOPE_HOOK_fwrite] = "fwrite",
    [COROSCOPE_HOOK_fgets] = "fgets",
    [COROSCOPE_HOOK_getline] = "getline",
    [COROSCOPE_HOOK_getdelim] = "getdelim",
    [COROSCOPE_HOOK_fflush] = "fflush",
    [COROSCOPE_HOOK_fgetc] = "fgetc",
    [COROSCOPE_HOOK_getc] = "getc",
    [COROSCOPE_HOOK___fread_chk] = "__fread_chk",
    [COROSCOPE_HOOK___fgets_chk] = "__fgets_chk",
    [COROSCOPE_HOOK_waitpid] = "waitpid",
    [COROSCOPE_HOOK_wait4] = "wait4",
    [COROSCOPE_HOOK_wait] = "wait",
    [COROSCOPE_HOOK_waitid] = "waitid",
    [COROSCOPE_HOOK_pthread_join] = "pthread_join",
    [COROSCOPE_HOOK_sem_wait] = "sem_wait",
    [COROSCOPE_HOOK_sem_timedwait] = "sem_timedwait",
    [COROSCOPE_HOOK_sem_clockwait] = "sem_clockwait",
    [COROSCOPE_HOOK_pthread_mutex_lock] = "pthread_mutex_lock",
    [COROSCOPE_HOOK_pthread_mutex_timedlock] = "pthread_mutex_timedlock",
    [COROSCOPE_HOOK_pthread_mutex_clocklock] = "pthread_mutex_clocklock",
    [COROSCOPE_HOOK_pthread_cond_wait] = "pthread_cond_wait",
    [COROSCOPE_HOOK_pthread_cond_timedwait] = "pthread_cond_timedwait",
    [COROSCOPE_HOOK_pthread_cond_clockwait] = "pthread_cond_clockwait",
    [COROSCOPE_HOOK_pthread_rwlock_rdlock] = "pthread_rwlock_rdlock",
    [COROSCOPE_HOOK_pthread_rwlock_wrlock] = "pthread_rwlock_wrlock",
    [COROSCOPE_HOOK_pthread_rwlock_timedrdlock] = "pthread_rwlock_timedrdlock",
    [COROSCOPE_HOOK_pthread_rwlock_timedwrlock] = "pthread_rwlock_timedwrlock",
    [COROSCOPE_HOOK_pthread_rwlock_clockrdlock] = "pthread_rwlock_clockrdlock",
    [COROSCOPE_HOOK_pthread_rwlock_clockwrlock] = "pthread_rwlock_clockwrlock",
    [COROSCOPE_HOOK_pthread_spin_lock] = "pthread_spin_lock",
};

const char *cs_hook_name(unsigned hook)
{
    return hook < COROSCOPE_HOOK_COUNT ? hook_names[hook] : NULL;
}

/* ---- reader state ---------------------------------------------------------------- */

typedef struct cs_str {
    uint64_t id;     /* 0: empty slot */
    uint64_t len;    /* declared total length */
    uint64_t filled; /* bytes received, in order */
    uint64_t cap;
    char *text; /* cap bytes, NUL at filled */
} cs_str;

/* A chunk as located by its header (either format). */
typedef struct chunk_loc {
    uint64_t size; /* bytes in the file */
    uint64_t first_ts, last_ts;
    uint32_t nrecords;
    uint32_t flags; /* format 2: CS_CHUNK_HAS_STRINGS (format 1: unknown, 1) */
} chunk_loc;

/* Where a chunk is loaded: its records, and for format 2 its stored bytes. */
typedef struct chunk_buf {
    coroscope_event *rec;
    uint32_t cap;
    uint8_t *bytes;
    size_t bytes_cap;
} chunk_buf;

struct cs_reader {
    int fd, own_fd;
    unsigned flags;
    cs_trace_info info;
    int v2;                        /* format 2 */
    uint64_t data_start, data_end; /* the chunk area */
    cs_v2_index_entry *index;      /* info.chunk_count entries when info.has_index (v1 entries converted) */

    chunk_buf cb;         /* the current chunk */
    coroscope_event *buf; /* = cb.rec */
    uint32_t nrec, pos;
    uint64_t chunk_off;             /* offset of the current chunk */
    uint64_t next_off;              /* offset of the next chunk to load */
    uint64_t chunks_ok, records_ok; /* verified so far (for messages) */
    int at_end;
    cs_trace_err status;

    cs_str *strs; /* open addressing, keyed hash, strcap a power of 2 */
    size_t nstr, strcap;
    uint64_t probes;          /* slots visited by string lookups (cs_reader_string_probes) */
    uint64_t strings_through; /* strings of every chunk below this offset are in */

    cs_v2_decoder *dec;     /* format 2 */
    cs_lane_summary *lanes; /* the current chunk's parsed summary (decoding) */
    uint32_t lanes_cap;

    /* cs_reader_summary_next */
    chunk_buf scb;
    cs_lane_summary *slanes;
    uint32_t slanes_cap;
    cs_lane_tracker *stracker; /* format 1: summaries computed from the records */
    uint64_t snext;            /* where the tracker's state is valid */
};

static int set_err(cs_trace_err *e, int code, int sys, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int set_err(cs_trace_err *e, int code, int sys, uint64_t off, const char *fmt, ...)
{
    if (!e) return code;
    memset(e, 0, sizeof *e);
    e->code = code;
    e->sys_errno = sys;
    e->offset = off;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

/* Read exactly n bytes at off; 0, or -1 (EOF: errno 0) */
static int read_at(int fd, void *p, size_t n, uint64_t off)
{
    char *b = p;
    while (n) {
        ssize_t k = pread(fd, b, n, (off_t)off);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (k == 0) {
            errno = 0;
            return -1;
        }
        b += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* ---- strings ----------------------------------------------------------------------- */

static cs_str *str_slot(const cs_reader *r, uint64_t id)
{
    if (!r->strcap) return NULL;
    size_t mask = r->strcap - 1;
    uint64_t *probes = &((cs_reader *)r)->probes; /* a statistic, not state */
    for (size_t i = (size_t)cs_khash64(id) & mask;; i = (i + 1) & mask) {
        ++*probes;
        if (r->strs[i].id == id || r->strs[i].id == 0) return &r->strs[i];
    }
}

uint64_t cs_reader_string_probes(const cs_reader *r)
{
    return r ? r->probes : 0;
}

static cs_str *str_get(cs_reader *r, uint64_t id, int create)
{
    cs_str *s = str_slot(r, id);
    if (s && s->id == id) return s;
    if (!create) return NULL;
    if ((r->nstr + 1) * 2 > r->strcap) {
        size_t ncap = r->strcap ? r->strcap * 2 : 64;
        cs_str *n = calloc(ncap, sizeof *n), *old = r->strs;
        if (!n) return NULL;
        size_t ocap = r->strcap;
        r->strs = n;
        r->strcap = ncap;
        for (size_t i = 0; i < ocap; i++)
            if (old[i].id) *str_slot(r, old[i].id) = old[i];
        free(old);
        s = str_slot(r, id);
    }
    s->id = id;
    r->nstr++;
    return s;
}

static int str_put(cs_str *s, const void *piece, uint64_t n)
{
    if (s->filled + n + 1 > s->cap) {
        uint64_t ncap = s->cap ? s->cap : 32;
        while (ncap < s->filled + n + 1) ncap *= 2;
        char *t = realloc(s->text, (size_t)ncap);
        if (!t) return -1;
        s->text = t;
        s->cap = ncap;
    }
    memcpy(s->text + s->filled, piece, (size_t)n);
    s->filled += n;
    s->text[s->filled] = 0;
    return 0;
}

/* Take the string records of one chunk. Out-of-order pieces are ignored (the
 * string then stays incomplete); allocation failures lose the string only. */
static void ingest_strings(cs_reader *r, const coroscope_event *ev, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        const coroscope_event *e = &ev[i];
        if ((e->kind != COROSCOPE_EV_STRING && e->kind != COROSCOPE_EV_STRING_MORE) || e->a[0] == 0) continue;
        if (e->kind == COROSCOPE_EV_STRING) {
            cs_str *s = str_get(r, e->a[0], 1);
            if (!s) continue;
            s->len = e->a[1];
            s->filled = 0;
            if (s->text) s->text[0] = 0;
            str_put(s, &e->a[2], s->len < 24 ? s->len : 24);
        } else {
            cs_str *s = str_get(r, e->a[0], 0);
            if (!s || e->a[1] != s->filled || s->filled >= s->len) continue;
            uint64_t left = s->len - s->filled;
            str_put(s, &e->a[2], left < 24 ? left : 24);
        }
    }
}

const char *cs_reader_string(const cs_reader *r, uint64_t id, size_t *len, int *complete)
{
    cs_str *s = (r && id) ? str_slot(r, id) : NULL;
    if (!s || s->id != id) return NULL;
    if (len) *len = (size_t)s->filled;
    if (complete) *complete = s->filled == s->len;
    return s->text ? s->text : "";
}

/* ---- chunks ------------------------------------------------------------------------ */

enum { LOAD_OK = 0, LOAD_END = -1 };

#define IO_ERR(e, off)                                                                         \
    set_err(e, CS_TRACE_EIO, errno, off, "read at offset %llu: %s", (unsigned long long)(off), \
            errno ? strerror(errno) : "file shrank")

/* Records lost from the chunk at off on: with an index, those of every chunk
 * it lists from off on; without, n (the chunk's own count if its header is
 * readable, a lower bound). */
static void fill_loss(cs_reader *r, cs_trace_err *e, uint64_t off, uint64_t n)
{
    e->bytes_lost = r->data_end > off ? r->data_end - off : 0;
    e->records_lost = n;
    if (r->info.has_index) {
        e->records_lost = 0;
        for (uint32_t i = 0; i < r->info.chunk_count; i++)
            if (r->index[i].offset >= off) e->records_lost += r->index[i].nrecords;
    }
}

static int chunk_fail(cs_reader *r, cs_trace_err *e, int code, uint64_t off, uint64_t lost, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int chunk_fail(cs_reader *r, cs_trace_err *e, int code, uint64_t off, uint64_t lost, const char *fmt, ...)
{
    memset(e, 0, sizeof *e);
    e->code = code;
    e->offset = off;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    fill_loss(r, e, off, lost);
    return code;
}

/* Grows *buf (holding *cap elements of `size` bytes) to at least n
 * elements, doubling from `first`; the contents are kept. 0, or -1 when
 * out of memory (*buf and *cap unchanged). */
static int grow(void **buf, size_t *cap, size_t n, size_t size, size_t first)
{
    if (n <= *cap) return 0;
    size_t ncap = *cap ? *cap : first;
    while (ncap < n) ncap *= 2;
    if (ncap > SIZE_MAX / size) return -1;
    void *b = realloc(*buf, ncap * size);
    if (!b) return -1;
    *buf = b;
    *cap = ncap;
    return 0;
}

static int ensure_records(chunk_buf *cb, uint32_t n)
{
    size_t cap = cb->cap;
    void *b = cb->rec;
    if (grow(&b, &cap, n, sizeof *cb->rec, 1024)) return -1;
    cb->rec = b;
    cb->cap = (uint32_t)cap;
    return 0;
}

static int ensure_bytes(chunk_buf *cb, size_t n)
{
    void *b = cb->bytes;
    if (grow(&b, &cb->bytes_cap, n, 1, 65536)) return -1;
    cb->bytes = b;
    return 0;
}

/* The part common to both formats: is there a chunk at off at all? LOAD_OK
 * (at least a chunk header's worth of bytes), LOAD_END, or a code. */
static int chunk_start(cs_reader *r, uint64_t off, size_t hsize, cs_trace_err *e)
{
    if (off >= r->data_end) return LOAD_END;
    uint64_t avail = r->data_end - off;
    uint32_t magic = 0;
    uint32_t imagic = r->v2 ? CS_V2_INDEX_MAGIC : CS_INDEX_MAGIC;
    if (r->info.has_index) {
        /* the index says where the chunks end: nothing to guess */
    } else if (avail >= 4) {
        if (read_at(r->fd, &magic, 4, off)) return IO_ERR(e, off);
        if (magic == imagic) return LOAD_END; /* the index of a file whose footer is missing or bad */
    } else if (avail == 3) {                  /* "CSI": a cut index; 1 or 2 bytes ("C", "CS") could be either */
        if (read_at(r->fd, &magic, 3, off)) return IO_ERR(e, off);
        if (magic == (imagic & 0xffffffu)) return LOAD_END;
    }
    if (avail < hsize)
        return chunk_fail(r, e, CS_TRACE_ETRUNCCHUNK, off, 0,
                          "truncated chunk at offset %llu: the file ends %llu bytes into its header",
                          (unsigned long long)off, (unsigned long long)avail);
    return LOAD_OK;
}

/* With an index, the chunk at off must be the index's entry there, with the
 * same record count (the index tiles the chunk area): 0 when it is, or when
 * there is no index; else an EBADCHUNK code with e filled. Reading and the
 * index then never disagree on what the file holds. */
static int index_disagrees(cs_reader *r, uint64_t off, uint32_t nrecords, cs_trace_err *e)
{
    if (!r->info.has_index) return 0;
    uint32_t lo = 0, hi = r->info.chunk_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r->index[mid].offset < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    const cs_v2_index_entry *ie = lo < r->info.chunk_count && r->index[lo].offset == off ? &r->index[lo] : NULL;
    if (ie && ie->nrecords == nrecords) return 0;
    return chunk_fail(r, e, CS_TRACE_EBADCHUNK, off, 0, "corrupt chunk header at offset %llu (%s)",
                      (unsigned long long)off, ie ? "record count differs from the index" : "not a chunk of the index");
}

static int load_v1(cs_reader *r, uint64_t off, chunk_loc *loc, chunk_buf *cb, cs_trace_err *e)
{
    cs_chunk_header hdr;
    int rc = chunk_start(r, off, sizeof hdr, e);
    if (rc != LOAD_OK) return rc;
    uint64_t avail = r->data_end - off;
    if (read_at(r->fd, &hdr, sizeof hdr, off)) return IO_ERR(e, off);
    uint32_t hcrc = cs_crc32(0, &hdr, 28);
    if (hdr.magic != CS_CHUNK_MAGIC || hcrc != hdr.header_crc || hdr.nrecords == 0 ||
        hdr.nrecords > CS_CHUNK_MAX_RECORDS)
        return chunk_fail(r, e, CS_TRACE_EBADCHUNK, off, 0, "corrupt chunk header at offset %llu (%s)",
                          (unsigned long long)off,
                          hdr.magic != CS_CHUNK_MAGIC ? "bad magic"
                          : hcrc != hdr.header_crc    ? "header CRC mismatch"
                                                      : "impossible record count");
    if ((rc = index_disagrees(r, off, hdr.nrecords, e))) return rc;
    uint64_t payload = (uint64_t)hdr.nrecords * COROSCOPE_EVENT_SIZE;
    if (sizeof hdr + payload > avail)
        return chunk_fail(r, e, CS_TRACE_ETRUNCCHUNK, off, hdr.nrecords,
                          "truncated chunk at offset %llu: %u records (%llu bytes) announced, %llu bytes present",
                          (unsigned long long)off, hdr.nrecords, (unsigned long long)payload,
                          (unsigned long long)(avail - sizeof hdr));
    if (ensure_records(cb, hdr.nrecords))
        return set_err(e, CS_TRACE_ENOMEM, ENOMEM, off, "out of memory for a chunk of %u records", hdr.nrecords);
    if (read_at(r->fd, cb->rec, (size_t)payload, off + sizeof hdr)) return IO_ERR(e, off);
    uint32_t pcrc = cs_crc32(0, cb->rec, payload);
    if (pcrc != hdr.payload_crc)
        return chunk_fail(r, e, CS_TRACE_ECHUNKCRC, off, hdr.nrecords,
                          "corrupt chunk at offset %llu: payload CRC 0x%08x, header says 0x%08x",
                          (unsigned long long)off, pcrc, hdr.payload_crc);
    *loc = (chunk_loc){.size = sizeof hdr + payload,
                       .first_ts = hdr.first_ts,
                       .last_ts = hdr.last_ts,
                       .nrecords = hdr.nrecords,
                       .flags = CS_CHUNK_HAS_STRINGS};
    return LOAD_OK;
}

/* Format 2: header, then summary (+ body when records is set) read and
 * verified; the summary parsed into *lanes; the body decoded into cb->rec. */
static int load_v2(cs_reader *r, uint64_t off, chunk_loc *loc, chunk_buf *cb, cs_lane_summary **lanes,
                   uint32_t *lanes_cap, uint32_t *nlanes, int records, cs_trace_err *e)
{
    cs_v2_chunk_header hdr;
    int rc = chunk_start(r, off, sizeof hdr, e);
    if (rc != LOAD_OK) return rc;
    uint64_t avail = r->data_end - off;
    if (read_at(r->fd, &hdr, sizeof hdr, off)) return IO_ERR(e, off);
    char why[160];
    if (cs_v2_check_header(&hdr, why, sizeof why))
        return chunk_fail(r, e, CS_TRACE_EBADCHUNK, off, 0, "corrupt chunk header at offset %llu (%s)",
                          (unsigned long long)off, why);
    if ((rc = index_disagrees(r, off, hdr.nrecords, e))) return rc;
    uint64_t size = sizeof hdr + (uint64_t)hdr.summary_size + hdr.body_size;
    if (size > avail)
        return chunk_fail(r, e, CS_TRACE_ETRUNCCHUNK, off, hdr.nrecords,
                          "truncated chunk at offset %llu: %llu bytes announced (%u records), %llu present",
                          (unsigned long long)off, (unsigned long long)size, hdr.nrecords, (unsigned long long)avail);
    size_t want = hdr.summary_size + (records ? (size_t)hdr.body_size : 0);
    if (ensure_bytes(cb, want ? want : 1))
        return set_err(e, CS_TRACE_ENOMEM, ENOMEM, off, "out of memory for a chunk of %llu bytes",
                       (unsigned long long)size);
    if (read_at(r->fd, cb->bytes, want, off + sizeof hdr)) return IO_ERR(e, off);
    uint32_t scrc = cs_crc32(0, cb->bytes, hdr.summary_size);
    if (scrc != hdr.summary_crc)
        return chunk_fail(r, e, CS_TRACE_ECHUNKCRC, off, hdr.nrecords,
                          "corrupt chunk at offset %llu: summary CRC 0x%08x, header says 0x%08x",
                          (unsigned long long)off, scrc, hdr.summary_crc);
    if (cs_v2_summary_parse(cb->bytes, hdr.summary_size, hdr.nrecords, lanes, lanes_cap, nlanes, why, sizeof why))
        return chunk_fail(r, e, CS_TRACE_EBADDATA, off, hdr.nrecords, "bad chunk at offset %llu: %s",
                          (unsigned long long)off, why);
    if (records) {
        uint32_t bcrc = cs_crc32(0, cb->bytes + hdr.summary_size, hdr.body_size);
        if (bcrc != hdr.body_crc)
            return chunk_fail(r, e, CS_TRACE_ECHUNKCRC, off, hdr.nrecords,
                              "corrupt chunk at offset %llu: body CRC 0x%08x, header says 0x%08x",
                              (unsigned long long)off, bcrc, hdr.body_crc);
        if (ensure_records(cb, hdr.nrecords) || (!r->dec && cs_v2_decoder_new(&r->dec)))
            return set_err(e, CS_TRACE_ENOMEM, ENOMEM, off, "out of memory for a chunk of %u records", hdr.nrecords);
        int d =
            cs_v2_decode_body(r->dec, &hdr, *lanes, *nlanes, cb->bytes + hdr.summary_size, cb->rec, why, sizeof why);
        if (d == ENOMEM)
            return set_err(e, CS_TRACE_ENOMEM, ENOMEM, off, "out of memory decoding a chunk of %u records",
                           hdr.nrecords);
        if (d)
            return chunk_fail(r, e, CS_TRACE_EBADDATA, off, hdr.nrecords, "bad chunk at offset %llu: %s",
                              (unsigned long long)off, why);
    }
    *loc = (chunk_loc){
        .size = size, .first_ts = hdr.first_ts, .last_ts = hdr.last_ts, .nrecords = hdr.nrecords, .flags = hdr.flags};
    return LOAD_OK;
}

/* Load and verify the chunk at off into r->cb (its records). LOAD_OK (loc
 * filled), LOAD_END at the end of the chunk area, or a code with e filled. */
static int load_chunk(cs_reader *r, uint64_t off, chunk_loc *loc, cs_trace_err *e)
{
    uint32_t nl;
    int rc =
        r->v2 ? load_v2(r, off, loc, &r->cb, &r->lanes, &r->lanes_cap, &nl, 1, e) : load_v1(r, off, loc, &r->cb, e);
    r->buf = r->cb.rec;
    if (rc != LOAD_OK) return rc;
    if (off >= r->strings_through) {
        ingest_strings(r, r->cb.rec, loc->nrecords);
        r->strings_through = off + loc->size;
    }
    return LOAD_OK;
}

/* Make the loaded chunk at off current. */
static void use_chunk(cs_reader *r, uint64_t off, const chunk_loc *h)
{
    r->chunk_off = off;
    r->nrec = h->nrecords;
    r->pos = 0;
    r->next_off = off + h->size;
}

/* Stop reading with e (or cleanly when e is NULL); appends what was read. */
static void stop(cs_reader *r, const cs_trace_err *e)
{
    r->at_end = 1;
    r->nrec = r->pos = 0;
    if (!e || e->code == CS_TRACE_OK) return;
    r->status = *e;
    size_t l = strlen(r->status.msg);
    snprintf(r->status.msg + l, sizeof r->status.msg - l, "; %s%llu records (%llu bytes) lost, %llu read before",
             r->info.has_index ? "" : "at least ", (unsigned long long)e->records_lost,
             (unsigned long long)e->bytes_lost, (unsigned long long)r->records_ok);
}

int cs_reader_next(cs_reader *r, coroscope_event *ev)
{
    if (!r || !ev) return 0;
    for (;;) {
        while (r->pos < r->nrec) {
            const coroscope_event *e = &r->buf[r->pos++];
            r->records_ok++;
            if ((r->flags & CS_READ_SKIP_UNKNOWN) && !cs_event_kind_known(e->kind)) continue;
            if ((r->flags & CS_READ_SKIP_STRINGS) &&
                (e->kind == COROSCOPE_EV_STRING || e->kind == COROSCOPE_EV_STRING_MORE))
                continue;
            *ev = *e;
            return 1;
        }
        if (r->at_end) return 0;
        chunk_loc h;
        cs_trace_err e;
        int rc = load_chunk(r, r->next_off, &h, &e);
        if (rc != LOAD_OK) {
            stop(r, rc == LOAD_END ? NULL : &e);
            return 0;
        }
        r->chunks_ok++;
        use_chunk(r, r->next_off, &h);
    }
}

const cs_trace_err *cs_reader_status(const cs_reader *r)
{
    return &r->status;
}
const cs_trace_info *cs_reader_info(const cs_reader *r)
{
    return &r->info;
}
uint64_t cs_reader_chunk_offset(const cs_reader *r)
{
    return r->pos < r->nrec ? r->chunk_off : r->next_off;
}

/* Pass the chunks before a point — the first chunk whose last_ts >= t
 * (by_time), or the offset `target` — taking on the way the strings of each
 * chunk that defines some (records after the point may use them). With the
 * index its entries say where the chunks are, and a bad chunk loses its
 * strings only; without, each chunk's header (format 2: only the string
 * chunks are decoded) or whole chunk (format 1) is read, and a bad one
 * stops the walk. Sets *at to the point (data_end: past the last chunk).
 * LOAD_OK, or a code with e filled (the chunk at *at is bad). */
static int pass_chunks(cs_reader *r, int by_time, uint64_t t, uint64_t target, uint64_t *at, cs_trace_err *e)
{
    chunk_loc h;
    int rc = LOAD_OK;
    if (r->info.has_index) {
        uint32_t i = 0;
        for (; i < r->info.chunk_count; i++) {
            const cs_v2_index_entry *ie = &r->index[i];
            if (by_time ? ie->last_ts >= t : ie->offset >= target) break;
            if ((ie->flags & CS_CHUNK_HAS_STRINGS) && ie->offset >= r->strings_through)
                (void)load_chunk(r, ie->offset, &h, e);
        }
        *at = i < r->info.chunk_count ? r->index[i].offset : r->data_end;
    } else {
        uint64_t off = r->data_start;
        while (by_time || off < target) {
            uint32_t nl;
            rc =
                r->v2 ? load_v2(r, off, &h, &r->scb, &r->slanes, &r->slanes_cap, &nl, 0, e) : load_chunk(r, off, &h, e);
            if (rc == LOAD_OK && by_time && h.last_ts >= t) break;
            if (rc == LOAD_OK && r->v2 && (h.flags & CS_CHUNK_HAS_STRINGS) && off >= r->strings_through)
                rc = load_chunk(r, off, &h, e);
            if (rc != LOAD_OK) break;
            off += h.size;
            if (off > r->strings_through) r->strings_through = off;
        }
        *at = off;
        if (rc == LOAD_END) rc = LOAD_OK;
    }
    if (rc == LOAD_OK && r->strings_through < *at) r->strings_through = *at;
    return rc;
}

/* Seeking starts reading afresh: no status, no current chunk. */
static void seek_reset(cs_reader *r)
{
    memset(&r->status, 0, sizeof r->status);
    r->at_end = 0;
    r->nrec = r->pos = 0;
}

int cs_reader_seek_time(cs_reader *r, uint64_t t)
{
    if (!r) return CS_TRACE_EINVAL;
    seek_reset(r);
    chunk_loc h;
    cs_trace_err e;
    uint64_t at;
    int rc = pass_chunks(r, 1, t, 0, &at, &e);
    /* Without an index the chunk found is checked now (it is the one read next). */
    if (rc == LOAD_OK && !r->info.has_index && at < r->data_end) {
        rc = load_chunk(r, at, &h, &e);
        if (rc == LOAD_OK)
            use_chunk(r, at, &h);
        else if (rc == LOAD_END)
            rc = LOAD_OK;
    }
    if (rc != LOAD_OK) {
        stop(r, &e);
        return rc;
    }
    if (!r->nrec) r->next_off = at;
    return 0;
}

int cs_reader_seek_chunk(cs_reader *r, uint64_t target)
{
    if (!r || r->fd < 0 || target < r->data_start) return CS_TRACE_EINVAL;
    seek_reset(r);
    cs_trace_err e;
    uint64_t at;
    int rc = pass_chunks(r, 0, 0, target, &at, &e);
    if (rc != LOAD_OK) {
        stop(r, &e);
        return rc;
    }
    if (at != target) /* not a chunk's offset */
        return CS_TRACE_EINVAL;
    r->next_off = target;
    return 0;
}

int cs_reader_strings_next(const cs_reader *r, size_t *cursor, uint64_t *id, const char **text, size_t *len)
{
    if (!r || !cursor) return 0;
    while (*cursor < r->strcap) {
        const cs_str *s = &r->strs[(*cursor)++];
        if (!s->id) continue;
        *id = s->id;
        *text = s->text ? s->text : "";
        *len = s->text ? (size_t)s->filled : 0;
        return 1;
    }
    return 0;
}

/* ---- summaries --------------------------------------------------------------------- */

int cs_reader_summary_next(cs_reader *r, uint64_t *cursor, cs_chunk_summary *out, cs_trace_err *err)
{
    cs_trace_err dummy;
    if (!err) err = &dummy;
    memset(err, 0, sizeof *err);
    if (!r || !cursor || !out || r->fd < 0) {
        set_err(err, CS_TRACE_EINVAL, EINVAL, 0, "cs_reader_summary_next: bad argument");
        return 0;
    }
    uint64_t off = *cursor ? *cursor : r->data_start;
    if (off < r->data_start) {
        set_err(err, CS_TRACE_EINVAL, EINVAL, off, "cs_reader_summary_next: cursor %llu before the chunks",
                (unsigned long long)off);
        return 0;
    }
    chunk_loc loc;
    uint32_t nl = 0;
    int rc;
    if (r->v2) {
        rc = load_v2(r, off, &loc, &r->scb, &r->slanes, &r->slanes_cap, &nl, 0, err);
    } else {
        rc = load_v1(r, off, &loc, &r->scb, err);
        if (rc == LOAD_OK) {
            if (!r->stracker || off != r->snext) { /* not the next one: start states from scratch */
                cs_lane_tracker_free(r->stracker);
                r->stracker = cs_lane_tracker_new();
            }
            const void *sum;
            size_t len;
            char why[160];
            if (!r->stracker || cs_lane_tracker_summarize(r->stracker, r->scb.rec, loc.nrecords, NULL, &sum, &len)) {
                set_err(err, CS_TRACE_ENOMEM, ENOMEM, off, "out of memory summarising a chunk");
                return 0;
            }
            if (cs_v2_summary_parse(sum, len, loc.nrecords, &r->slanes, &r->slanes_cap, &nl, why, sizeof why)) {
                set_err(err, CS_TRACE_ENOMEM, ENOMEM, off, "summarising a chunk: %s", why);
                return 0;
            }
            r->snext = off + loc.size;
        }
    }
    if (rc != LOAD_OK) {
        if (rc == LOAD_END) memset(err, 0, sizeof *err);
        return 0;
    }
    *out = (cs_chunk_summary){.offset = off,
                              .size = loc.size,
                              .first_ts = loc.first_ts,
                              .last_ts = loc.last_ts,
                              .nrecords = loc.nrecords,
                              .nlanes = nl,
                              .lanes = r->slanes};
    *cursor = off + loc.size;
    return 1;
}

/* ---- open / close ------------------------------------------------------------------ */

/* Validate the footer and the index; on success set has_index and data_end. */
static void load_index(cs_reader *r)
{
    uint64_t size = r->info.file_size;
    cs_trace_footer f;
    if (size < r->data_start + sizeof(cs_index_header) + sizeof f || read_at(r->fd, &f, sizeof f, size - sizeof f) ||
        memcmp(f.magic, CS_FOOTER_MAGIC, 8))
        return;
    uint64_t esize = r->v2 ? sizeof(cs_v2_index_entry) : sizeof(cs_index_entry);
    uint64_t isize = sizeof(cs_index_header) + (uint64_t)f.index_count * esize;
    if (f.index_offset < r->data_start || f.index_offset > size || isize + sizeof f != size - f.index_offset) return;
    char *ibuf = malloc((size_t)isize);
    cs_v2_index_entry *ent = malloc(f.index_count ? f.index_count * sizeof *ent : 1);
    if (!ibuf || !ent) goto bad;
    cs_index_header ih;
    if (read_at(r->fd, ibuf, (size_t)isize, f.index_offset)) goto bad;
    memcpy(&ih, ibuf, sizeof ih);
    if (ih.magic != (r->v2 ? CS_V2_INDEX_MAGIC : CS_INDEX_MAGIC) || ih.count != f.index_count ||
        cs_crc32(cs_crc32(0, ibuf, isize), &f, 28) != f.crc)
        goto bad;
    uint64_t expect = r->data_start, total = 0;
    for (uint32_t i = 0; i < ih.count; i++) { /* chunks tile the area exactly */
        const char *p = ibuf + sizeof ih + i * esize;
        if (r->v2) {
            memcpy(&ent[i], p, sizeof ent[i]);
        } else {
            cs_index_entry v1;
            memcpy(&v1, p, sizeof v1);
            ent[i] = (cs_v2_index_entry){.offset = v1.offset,
                                         .first_ts = v1.first_ts,
                                         .last_ts = v1.last_ts,
                                         .nrecords = v1.nrecords,
                                         .flags = v1.flags,
                                         .size = sizeof(cs_chunk_header) + (uint64_t)v1.nrecords * 64};
        }
        if (ent[i].offset != expect || ent[i].nrecords == 0 || ent[i].nrecords > CS_CHUNK_MAX_RECORDS ||
            ent[i].size < sizeof(cs_chunk_header) || ent[i].size > f.index_offset - expect)
            goto bad;
        expect += ent[i].size;
        total += ent[i].nrecords;
    }
    if (expect != f.index_offset || total != f.total_records) goto bad;
    r->index = ent;
    ent = NULL;
    r->info.has_index = 1;
    r->info.chunk_count = ih.count;
    r->info.total_records = f.total_records;
    r->data_end = f.index_offset;
bad:
    free(ent);
    free(ibuf);
}

int cs_reader_open_fd(cs_reader **out, int fd, unsigned flags, cs_trace_err *err)
{
    cs_trace_err dummy;
    if (!err) err = &dummy;
    memset(err, 0, sizeof *err);
    if (!out) return set_err(err, CS_TRACE_EINVAL, EINVAL, 0, "cs_reader_open: no result pointer");
    *out = NULL;
    if (flags & ~(CS_READ_SKIP_UNKNOWN | CS_READ_SKIP_STRINGS))
        return set_err(err, CS_TRACE_EINVAL, EINVAL, 0, "cs_reader_open: unknown flags 0x%x", flags);
    struct stat st;
    if (fstat(fd, &st)) return set_err(err, CS_TRACE_EIO, errno, 0, "fstat: %s", strerror(errno));
    if (!S_ISREG(st.st_mode)) return set_err(err, CS_TRACE_EINVAL, EINVAL, 0, "not a regular file");
    uint64_t size = (uint64_t)st.st_size;
    cs_trace_header h;
    memset(&h, 0, sizeof h);
    size_t got = size < sizeof h ? (size_t)size : sizeof h;
    if (read_at(fd, &h, got, 0))
        return set_err(err, CS_TRACE_EIO, errno, 0, "read of the header: %s", errno ? strerror(errno) : "file shrank");
    size_t mlen = got < 8 ? got : 8;
    if (memcmp(h.magic, CS_TRACE_MAGIC, mlen))
        return set_err(err, CS_TRACE_EBADMAGIC, 0, 0, "not a Coroscope trace (bad magic)");
    if (got < 12 && size < 12) /* the version is at 8..11 */
        return set_err(err, CS_TRACE_ETRUNCHEADER, 0, 0, "truncated header: the file has %llu bytes, the header 64",
                       (unsigned long long)size);
    if (h.version_major != CS_TRACE_VERSION_MAJOR && h.version_major != CS_TRACE_V2_MAJOR)
        return set_err(err, CS_TRACE_EVERSION, 0, 8,
                       "unsupported trace format version %u.%u (this reader reads 1.x and 2.x)", h.version_major,
                       h.version_minor);
    if (size < sizeof h)
        return set_err(err, CS_TRACE_ETRUNCHEADER, 0, 0, "truncated header: the file has %llu bytes, the header 64",
                       (unsigned long long)size);
    if (cs_crc32(0, &h, 60) != h.crc) return set_err(err, CS_TRACE_EBADHEADER, 0, 0, "corrupt header (CRC mismatch)");
    if (h.record_size != COROSCOPE_EVENT_SIZE)
        return set_err(err, CS_TRACE_EVERSION, 0, 14, "unsupported record size %u (this reader reads %u)",
                       h.record_size, COROSCOPE_EVENT_SIZE);
    if (h.header_size < CS_TRACE_HEADER_SIZE)
        return set_err(err, CS_TRACE_EBADHEADER, 0, 12, "corrupt header (header size %u < 64)", h.header_size);
    if (h.header_size > size)
        return set_err(err, CS_TRACE_ETRUNCHEADER, 0, 0, "truncated header: the file has %llu bytes, the header %u",
                       (unsigned long long)size, h.header_size);
    cs_reader *r = calloc(1, sizeof *r);
    if (!r) return set_err(err, CS_TRACE_ENOMEM, ENOMEM, 0, "out of memory");
    r->fd = fd;
    r->flags = flags;
    r->v2 = h.version_major == CS_TRACE_V2_MAJOR;
    r->info = (cs_trace_info){.version_major = h.version_major,
                              .version_minor = h.version_minor,
                              .events_version = h.events_version,
                              .pid = h.pid,
                              .mono_ns = h.mono_ns,
                              .real_ns = h.real_ns,
                              .flags = h.flags,
                              .file_size = size};
    r->data_start = r->next_off = r->strings_through = h.header_size;
    r->data_end = size;
    load_index(r);
    *out = r;
    return 0;
}

int cs_reader_open_path(cs_reader **out, const char *path, unsigned flags, cs_trace_err *err)
{
    cs_trace_err dummy;
    if (!err) err = &dummy;
    if (!out || !path) return set_err(err, CS_TRACE_EINVAL, EINVAL, 0, "cs_reader_open_path: NULL argument");
    *out = NULL;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer (the check that
     * it is a regular file comes after the open, on the fd itself). For a
     * regular file the flag changes nothing. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return set_err(err, CS_TRACE_EIO, errno, 0, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
        close(fd);
        return set_err(err, CS_TRACE_EINVAL, EINVAL, 0, "not a regular file (%s)",
                       S_ISDIR(st.st_mode)    ? "a directory"
                       : S_ISFIFO(st.st_mode) ? "a FIFO"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                       : S_ISCHR(st.st_mode)  ? "a character device"
                       : S_ISBLK(st.st_mode)  ? "a block device"
                                              : "not a file");
    }
    int rc = cs_reader_open_fd(out, fd, flags, err);
    if (rc) {
        close(fd);
        return rc;
    }
    (*out)->own_fd = 1;
    return 0;
}

void cs_reader_close(cs_reader *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->strcap; i++) free(r->strs[i].text);
    free(r->strs);
    free(r->cb.rec);
    free(r->cb.bytes);
    free(r->scb.rec);
    free(r->scb.bytes);
    free(r->lanes);
    free(r->slanes);
    cs_v2_decoder_free(r->dec);
    cs_lane_tracker_free(r->stracker);
    free(r->index);
    if (r->own_fd) close(r->fd);
    free(r);
}

/* ---- live streams ------------------------------------------------------------------ */

cs_reader *cs_reader_new_live(void)
{
    cs_reader *r = calloc(1, sizeof *r);
    if (r) r->fd = -1;
    return r;
}

void cs_reader_ingest(cs_reader *r, const coroscope_event *ev, size_t n)
{
    while (n) {
        uint32_t k = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
        ingest_strings(r, ev, k);
        ev += k;
        n -= k;
    }
}

/* ---- stable sort by time ---------------------------------------------------------- */

static void merge(const coroscope_event *a, size_t na, const coroscope_event *b, size_t nb, coroscope_event *out)
{
    size_t i = 0, j = 0, k = 0;
    while (i < na && j < nb) out[k++] = b[j].ts < a[i].ts ? b[j++] : a[i++];
    memcpy(out + k, a + i, (na - i) * sizeof *a);
    k += na - i;
    memcpy(out + k, b + j, (nb - j) * sizeof *b);
}

#define KWAY 4 /* a linear choice among more runs costs more than another pass */

/* One pass for a few runs: merge runs [start[r], start[r + 1]) of src into
 * out, taking the smallest ts each time (the earliest run on ties). */
static void merge_k(const coroscope_event *src, const size_t *start, size_t runs, coroscope_event *out)
{
    size_t pos[KWAY], end[KWAY], live = 0, k = 0;
    uint64_t head[KWAY]; /* ts of each run's next record */
    for (size_t r = 0; r < runs; r++) {
        pos[live] = start[r];
        end[live] = start[r + 1];
        head[live] = src[start[r]].ts;
        live++;
    }
    while (live > 1) {
        size_t best = 0;
        for (size_t r = 1; r < live; r++)
            if (head[r] < head[best]) best = r;
        out[k++] = src[pos[best]++];
        if (pos[best] < end[best]) {
            head[best] = src[pos[best]].ts;
        } else { /* run done: the others keep their order */
            for (size_t r = best; r + 1 < live; r++) {
                pos[r] = pos[r + 1];
                end[r] = end[r + 1];
                head[r] = head[r + 1];
            }
            live--;
        }
    }
    if (live) memcpy(out + k, src + pos[0], (end[0] - pos[0]) * sizeof *src);
}

coroscope_event *cs_events_sorted(coroscope_event *ev, size_t n, coroscope_event *tmp)
{
    /* The input is a few ascending runs (one per ring and drain round). */
    size_t start[KWAY + 1], runs = 0, lo = 0;
    while (lo < n && runs <= KWAY) {
        start[runs++] = lo;
        lo++;
        while (lo < n && ev[lo - 1].ts <= ev[lo].ts) lo++;
    }
    if (runs <= 1) return ev; /* one run (a single ring's batch): nothing to move */
    if (lo >= n && runs <= KWAY) {
        start[runs] = n;
        merge_k(ev, start, runs, tmp);
        return tmp;
    }
    /* Many runs: natural merge sort, log2(runs) passes. Pass: merge runs
     * pairwise from src into dst; a leftover run is copied. */
    coroscope_event *src = ev, *dst = tmp;
    for (;;) {
        size_t npass = 0;
        lo = 0;
        while (lo < n) {
            size_t mid = lo + 1;
            while (mid < n && src[mid - 1].ts <= src[mid].ts) mid++;
            size_t hi = mid;
            if (hi < n) {
                hi++;
                while (hi < n && src[hi - 1].ts <= src[hi].ts) hi++;
            }
            merge(src + lo, mid - lo, src + mid, hi - mid, dst + lo);
            npass++;
            lo = hi;
        }
        coroscope_event *t = src;
        src = dst;
        dst = t;
        if (npass <= 1) return src;
    }
}

void cs_events_sort(coroscope_event *ev, size_t n, coroscope_event *tmp)
{
    coroscope_event *sorted = cs_events_sorted(ev, n, tmp);
    if (sorted != ev) memcpy(ev, sorted, n * sizeof *ev);
}
