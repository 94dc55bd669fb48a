/*
 * dump.c — coroscope-dump: print a trace file as readable lines, strace-like.
 *
 *     coroscope-dump FILE
 *
 * One line per event (STRING records are resolved, not printed):
 *
 *     SECONDS THREAD CO EVENT
 *     0.004311 w1 co#7 "conn-12" read(fd=9, 4096) = 512 <1.709ms> parked
 *
 * SECONDS is relative to the first event with a timestamp, THREAD is the
 * worker ("w1") or, off the workers, the thread id ("t4242"), CO the
 * coroutine id and its name from CO_CREATE ("-" when none). A first line
 * "# ..." describes the file. A parked call shows twice: "read(fd=9, 4096,
 * timeout=none) ..." when it parks (CALL_ENTER), the usual line when it
 * returns; the peer of connect/accept follows its call on a line of its own,
 * "  address \"127.0.0.1:8080\"" (CALL_ADDR).
 *
 * Exit status: 0 the whole file was read; 1 it could not be opened or read
 * to its end (the message is on stderr, every record before the problem was
 * printed); 2 usage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump_fd.h"
#include "wire/khash.h"
#include "wire/reader.h"

/* ---- co id -> name string id ------------------------------------------------------- */

typedef struct {
    uint64_t co, name;
} co_name;
static co_name *names;
static size_t names_cap, names_n;

/* Keyed hash (wire/khash.h): coroutine ids come from the file, which must
 * not be able to pile them into one probe run. */
static co_name *name_slot(uint64_t co)
{
    size_t mask = names_cap - 1;
    for (size_t i = (size_t)cs_khash64(co) & mask;; i = (i + 1) & mask)
        if (names[i].co == co || names[i].co == 0) return &names[i];
}

static void name_set(uint64_t co, uint64_t name)
{
    if (!co) return;
    if ((names_n + 1) * 2 > names_cap) {
        size_t ocap = names_cap;
        co_name *old = names, *n = calloc(ocap ? ocap * 2 : 256, sizeof *n);
        if (!n) return; /* names are a nicety: without memory, coroutines go unnamed */
        names = n;
        names_cap = ocap ? ocap * 2 : 256;
        for (size_t i = 0; i < ocap; i++)
            if (old[i].co) *name_slot(old[i].co) = old[i];
        free(old);
    }
    co_name *s = name_slot(co);
    if (s->co == 0) names_n++;
    *s = (co_name){co, name};
}

static uint64_t name_get(uint64_t co)
{
    if (!names_cap || !co) return 0;
    co_name *s = name_slot(co);
    return s->co == co ? s->name : 0;
}

/* ---- formatting helpers ------------------------------------------------------------ */

static const cs_reader *rd;

/* A string, quoted and escaped, at most 200 bytes shown. */
/* "SIGKILL" (glibc's abbreviation), or the number. */
static const char *sig_name(int sig)
{
    static __thread char buf[24];
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev)
        snprintf(buf, sizeof buf, "SIG%s", abbrev);
    else
        snprintf(buf, sizeof buf, "%d", sig);
    return buf;
}

static const char *quoted(uint64_t id, char *buf, size_t cap)
{
    size_t len = 0;
    int complete = 1;
    const char *s = cs_reader_string(rd, id, &len, &complete);
    if (!s) {
        snprintf(buf, cap, id ? "str#%" PRIu64 : "\"\"", id);
        return buf;
    }
    size_t o = 0;
    buf[o++] = '"';
    for (size_t i = 0; i < len && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            o += (size_t)snprintf(buf + o, cap - o, "\\%c", c);
        else if (c < 32 || c == 127)
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    if (len && o + 8 >= cap) o += (size_t)snprintf(buf + o, cap - o, "...");
    snprintf(buf + o, cap - o, "\"%s", complete ? "" : "(incomplete)");
    return buf;
}

static const char *dur(uint64_t ns, char *buf, size_t cap)
{
    if (ns < 1000)
        snprintf(buf, cap, "%" PRIu64 "ns", ns);
    else if (ns < 1000000)
        snprintf(buf, cap, "%.1fus", (double)ns / 1e3);
    else if (ns < 1000000000)
        snprintf(buf, cap, "%.3fms", (double)ns / 1e6);
    else
        snprintf(buf, cap, "%.3fs", (double)ns / 1e9);
    return buf;
}

static const char *hook(uint64_t h, char *buf, size_t cap)
{
    unsigned id = (unsigned)(h & 0xffff);
    const char *n = cs_hook_name(id);
    if (n) return n;
    snprintf(buf, cap, "hook#%u", (unsigned)(h & 0xffff));
    return buf;
}

static const char *errname(uint32_t e, char *buf, size_t cap)
{
    const char *n = e < 4096 ? strerrorname_np((int)e) : NULL;
    if (n) return n;
    snprintf(buf, cap, "errno %u", e);
    return buf;
}

static const char *events(uint64_t ev)
{
    switch (ev & 3) {
    case 1: return "readable";
    case 2: return "writable";
    case 3: return "readable+writable";
    default: return "no events";
    }
}

static const char *worker(uint64_t w, char *buf, size_t cap)
{
    if (w == COROSCOPE_NO_WORKER) return "no worker";
    snprintf(buf, cap, "w%" PRIu64, w);
    return buf;
}

enum family { F_OTHER, F_TRANSFER, F_WAIT, F_SLEEP, F_FLAGS, F_CMD };

static enum family family(unsigned h)
{
    switch (h) {
    case COROSCOPE_HOOK_read:
    case COROSCOPE_HOOK_write:
    case COROSCOPE_HOOK_readv:
    case COROSCOPE_HOOK_writev:
    case COROSCOPE_HOOK_recv:
    case COROSCOPE_HOOK_recvfrom:
    case COROSCOPE_HOOK_recvmsg:
    case COROSCOPE_HOOK_send:
    case COROSCOPE_HOOK_sendto:
    case COROSCOPE_HOOK_sendmsg:
    case COROSCOPE_HOOK___read_chk:
    case COROSCOPE_HOOK___recv_chk:
    case COROSCOPE_HOOK___recvfrom_chk:
    case COROSCOPE_HOOK_pread:
    case COROSCOPE_HOOK_pread64:
    case COROSCOPE_HOOK_preadv:
    case COROSCOPE_HOOK_preadv64:
    case COROSCOPE_HOOK_pwrite:
    case COROSCOPE_HOOK_pwrite64:
    case COROSCOPE_HOOK_pwritev:
    case COROSCOPE_HOOK_pwritev64:
    case COROSCOPE_HOOK_fread:
    case COROSCOPE_HOOK_fwrite:
    case COROSCOPE_HOOK_fgets:
    case COROSCOPE_HOOK___fread_chk:
    case COROSCOPE_HOOK___fgets_chk: return F_TRANSFER;
    case COROSCOPE_HOOK_poll:
    case COROSCOPE_HOOK_ppoll:
    case COROSCOPE_HOOK_select:
    case COROSCOPE_HOOK_pselect:
    case COROSCOPE_HOOK_epoll_wait:
    case COROSCOPE_HOOK_epoll_pwait:
    case COROSCOPE_HOOK___poll_chk:
    case COROSCOPE_HOOK___ppoll_chk: return F_WAIT;
    case COROSCOPE_HOOK_sleep:
    case COROSCOPE_HOOK_usleep:
    case COROSCOPE_HOOK_nanosleep:
    case COROSCOPE_HOOK_clock_nanosleep: return F_SLEEP;
    case COROSCOPE_HOOK_socket:
    case COROSCOPE_HOOK_socketpair:
    case COROSCOPE_HOOK_pipe:
    case COROSCOPE_HOOK_pipe2:
    case COROSCOPE_HOOK_eventfd:
    case COROSCOPE_HOOK_accept:
    case COROSCOPE_HOOK_accept4:
    case COROSCOPE_HOOK_open:
    case COROSCOPE_HOOK_open64:
    case COROSCOPE_HOOK_openat:
    case COROSCOPE_HOOK_openat64: return F_FLAGS;
    case COROSCOPE_HOOK_fcntl:
    case COROSCOPE_HOOK_fcntl64:
    case COROSCOPE_HOOK_ioctl: return F_CMD;
    default: return F_OTHER;
    }
}

/* "fd=9, 4096" / "timeout=100ms" / "1500ms" / "flags=0x800" / "cmd=3" */
static void call_args(char *buf, size_t cap, unsigned h, int64_t fd, uint32_t summary)
{
    size_t o = 0;
    buf[0] = 0;
    if (fd >= 0) o += (size_t)snprintf(buf, cap, "fd=%" PRId64, fd);
    const char *sep = o ? ", " : "";
    switch (family(h)) {
    case F_TRANSFER: snprintf(buf + o, cap - o, "%s%" PRIu32, sep, summary); break;
    case F_WAIT:
        if (summary == UINT32_MAX)
            snprintf(buf + o, cap - o, "%stimeout=none", sep);
        else
            snprintf(buf + o, cap - o, "%stimeout=%" PRIu32 "ms", sep, summary);
        break;
    case F_SLEEP: snprintf(buf + o, cap - o, "%s%" PRIu32 "ms", sep, summary); break;
    case F_FLAGS: snprintf(buf + o, cap - o, "%sflags=0x%" PRIx32, sep, summary); break;
    case F_CMD: snprintf(buf + o, cap - o, "%scmd=0x%" PRIx32, sep, summary); break;
    default: break;
    }
}

static const char *ready_why(uint64_t why, uint64_t detail, uint64_t evs, char *buf, size_t cap)
{
    char t[64];
    switch (why) {
    case COROSCOPE_READY_SPAWNED:
        if (detail)
            snprintf(buf, cap, "spawned by co#%" PRIu64, detail);
        else
            snprintf(buf, cap, "spawned by a thread");
        break;
    case COROSCOPE_READY_TIMER: snprintf(buf, cap, "timer"); break;
    case COROSCOPE_READY_FD: snprintf(buf, cap, "fd %" PRId64 " %s", (int64_t)detail, events(evs)); break;
    case COROSCOPE_READY_JOINED: snprintf(buf, cap, "co#%" PRIu64 " finished", detail); break;
    case COROSCOPE_READY_YIELDED: snprintf(buf, cap, "yielded"); break;
    case COROSCOPE_READY_PREEMPTED: snprintf(buf, cap, "preempted"); break;
    case COROSCOPE_READY_SIGNAL: snprintf(buf, cap, "signal %" PRIu64, detail); break;
    case COROSCOPE_READY_CLOSED: snprintf(buf, cap, "fd %" PRId64 " closed", (int64_t)detail); break;
    case COROSCOPE_READY_STOLEN: snprintf(buf, cap, "stolen from %s", worker(detail, t, sizeof t)); break;
    case COROSCOPE_READY_OFFLOAD: snprintf(buf, cap, "offloaded call finished"); break;
    default: snprintf(buf, cap, "reason %" PRIu64, why); break;
    }
    return buf;
}

/* ---- one event --------------------------------------------------------------------- */

static void render(const coroscope_event *e, char *out, size_t cap)
{
    char b1[256], b2[256], b3[64], b4[64];
    const uint64_t *a = e->a;
    switch (e->kind) {
    case COROSCOPE_EV_PROCESS:
        snprintf(out, cap, "process pid=%" PRIu64 " exe=%s cmdline=%s engine=%u.%u.%u", a[0],
                 quoted(a[1], b1, sizeof b1), quoted(a[2], b2, sizeof b2), (unsigned)(a[3] >> 32),
                 (unsigned)(a[3] >> 16 & 0xffff), (unsigned)(a[3] & 0xffff));
        break;
    case COROSCOPE_EV_CONFIG:
        snprintf(out, cap,
                 "config workers=%" PRIu64 " stack=%" PRIu64 " slice=%s hooks=%s preempt=%s migrate=%s signal=%" PRIu64
                 "%s",
                 a[0], a[1], dur(a[2], b3, sizeof b3), a[3] & 1 ? "on" : "off", a[3] & 2 ? "on" : "off",
                 a[3] & 4 ? "on" : "off", a[4], a[3] & 8 ? " lossless" : "");
        break;
    case COROSCOPE_EV_THREAD:
        snprintf(out, cap, "thread tid=%" PRIu64 " %s %s", a[0], quoted(a[1], b1, sizeof b1),
                 worker(a[2], b3, sizeof b3));
        if (a[3]) /* events version 2: its process (and serial in a followed session) */
            snprintf(out + strlen(out), cap - strlen(out), " pid=%" PRIu64 " serial=%" PRIu64, a[3], a[4]);
        break;
    case COROSCOPE_EV_LINEAGE:
        snprintf(out, cap, "lineage pid=%" PRIu64 " ppid=%" PRIu64 " how=%s serial=%" PRIu64, a[0], a[1],
                 a[2] == COROSCOPE_SPAWN_FORK   ? "fork"
                 : a[2] == COROSCOPE_SPAWN_EXEC ? "exec"
                                                : "launched",
                 a[3]);
        break;
    case COROSCOPE_EV_PROCESS_EXIT: {
        static const char *const by[] = {"", " (reaped by its parent)", " (seen by its launcher)"};
        const char *src = (a[4] & 0xff) < 3 ? by[a[4] & 0xff] : " (?)";
        char serial[32] = "";
        if (a[2] != COROSCOPE_SERIAL_UNKNOWN) snprintf(serial, sizeof serial, " serial=%" PRIu64, a[2]);
        if (a[3])
            snprintf(out, cap, "process killed pid=%" PRIu64 " signal=%s%s%s%s", a[0], sig_name((int)a[3]),
                     a[4] & COROSCOPE_EXIT_CORE ? " core dumped" : "", serial, src);
        else
            snprintf(out, cap, "process exit pid=%" PRIu64 " code=%" PRId64 "%s%s", a[0], (int64_t)a[1], serial, src);
        break;
    }
    case COROSCOPE_EV_SPAWN: {
        static const char *const hows[] = {"launch", "fork", "exec", "spawn"};
        static const char *const whys[] = {"followed", "not traced: statically linked", "not traced: set-user-ID",
                                           "not followed: following is off", "not traced: not an x86-64 program"};
        snprintf(out, cap, "spawn %s pid=%" PRIu64 " path=%s cmd=%s %s", a[1] < 4 ? hows[a[1]] : "?", a[0],
                 quoted(a[2], b1, sizeof b1), quoted(a[4], b2, sizeof b2), a[3] < 5 ? whys[a[3]] : "?");
        break;
    }
    case COROSCOPE_EV_CLOCK: snprintf(out, cap, "clock monotonic=%" PRIu64 " realtime=%" PRIu64, a[0], a[1]); break;
    case COROSCOPE_EV_CO_CREATE:
        if (a[0])
            snprintf(b3, sizeof b3, "co#%" PRIu64, a[0]);
        else
            snprintf(b3, sizeof b3, "a thread");
        snprintf(out, cap, "created by %s entry=%s stack=%" PRIu64, b3, a[2] ? quoted(a[2], b1, sizeof b1) : "?", a[3]);
        break;
    case COROSCOPE_EV_CO_READY:
        snprintf(out, cap, "ready (%s) queue=%s depth=%" PRIu64, ready_why(a[0], a[1], 0, b1, sizeof b1),
                 a[2] == 0   ? "local"
                 : a[2] == 1 ? "spawn"
                 : a[2] == 2 ? "injection"
                             : "?",
                 a[3]);
        break;
    case COROSCOPE_EV_CO_RUN: snprintf(out, cap, "run (switch #%" PRIu64 ")", a[0]); break;
    case COROSCOPE_EV_CO_SUSPEND: {
        char dl[96] = "";
        if (a[4]) snprintf(dl, sizeof dl, ", deadline +%s", dur(a[4] > e->ts ? a[4] - e->ts : 0, b3, sizeof b3));
        if (a[0] == COROSCOPE_SUSPEND_JOIN)
            snprintf(out, cap, "parked joining co#%" PRIu64, a[2]);
        else if (a[0] == COROSCOPE_SUSPEND_SLEEP)
            snprintf(out, cap, "parked sleeping in %s%s", hook(a[1], b4, sizeof b4), dl);
        else if ((int64_t)a[2] >= 0)
            snprintf(out, cap, "parked in %s (fd %" PRId64 " %s%s)", hook(a[1], b4, sizeof b4), (int64_t)a[2],
                     a[3] & 2 ? (a[3] & 1 ? "readable+writable" : "writable") : "readable", dl);
        else
            snprintf(out, cap, "parked in %s%s", hook(a[1], b4, sizeof b4), dl);
        break;
    }
    case COROSCOPE_EV_CO_YIELD: snprintf(out, cap, a[0] ? "yield (preempted)" : "yield"); break;
    case COROSCOPE_EV_CO_FINISH:
        snprintf(out, cap, "finished (%s%s%s)", a[0] == COROSCOPE_EXIT_STACK_OVERFLOW ? "stack overflow" : "returned",
                 a[1] ? ", stack used " : "", a[1] ? (snprintf(b3, sizeof b3, "%" PRIu64 " bytes", a[1]), b3) : "");
        break;
    case COROSCOPE_EV_CO_MIGRATE:
        snprintf(out, cap, "migrated %s -> %s", worker(a[0], b3, sizeof b3), worker(a[1], b4, sizeof b4));
        break;
    case COROSCOPE_EV_CO_INFO: {
        static const char *const states[] = {"not started", "ready", "running", "suspended"};
        unsigned st = (unsigned)(a[3] & 0xff), why = (unsigned)(a[3] >> 8 & 0xff), h = (unsigned)(a[3] >> 16 & 0xffff);
        size_t o = (size_t)snprintf(out, cap, "exists: %s", st < 4 ? states[st] : "?");
        if (st == 3 && o < cap)
            o += (size_t)snprintf(out + o, cap - o, " (%s%s%s)",
                                  why == COROSCOPE_SUSPEND_JOIN    ? "joining"
                                  : why == COROSCOPE_SUSPEND_SLEEP ? "sleeping"
                                                                   : "in ",
                                  why == COROSCOPE_SUSPEND_JOIN || why == COROSCOPE_SUSPEND_SLEEP ? ""
                                  : h ? hook(h, b4, sizeof b4)
                                      : "a call",
                                  (int64_t)a[4] >= 0 ? (snprintf(b1, sizeof b1, ", fd %" PRId64, (int64_t)a[4]), b1)
                                                     : "");
        if ((a[3] >> 32 & 0xffff) != COROSCOPE_NO_WORKER && o < cap)
            o += (size_t)snprintf(out + o, cap - o, " on %s", worker(a[3] >> 32 & 0xffff, b3, sizeof b3));
        if (o < cap) snprintf(out + o, cap - o, " entry=%s", a[2] ? quoted(a[2], b2, sizeof b2) : "?");
        break;
    }
    case COROSCOPE_EV_WAKE: {
        size_t o = (size_t)snprintf(out, cap, "woke (%s)", ready_why(a[0], a[1], a[2], b1, sizeof b1));
        if (a[3] && o < cap) snprintf(out + o, cap - o, " by co#%" PRIu64 " on %s", a[3], worker(a[4], b3, sizeof b3));
        break;
    }
    case COROSCOPE_EV_CALL: {
        unsigned h = (unsigned)(a[0] & 0xffff);
        uint32_t err = (uint32_t)a[3], summary = (uint32_t)(a[3] >> 32);
        call_args(b1, sizeof b1, h, (int64_t)a[1], summary);
        if (err)
            snprintf(b2, sizeof b2, "-1 %s", errname(err, b3, sizeof b3));
        else
            snprintf(b2, sizeof b2, "%" PRId64, (int64_t)a[2]);
        snprintf(out, cap, "%s(%s) = %s <%s>%s%s", hook(h, b4, sizeof b4), b1, b2, dur(a[4], b3, sizeof b3),
                 a[0] >> 17 & 1 ? " parked" : "", a[0] >> 18 & 1 ? " BLOCKED-WORKER" : "");
        break;
    }
    case COROSCOPE_EV_CALL_ENTER: {
        /* "read(fd=9, 4096, timeout=none) ..." / "accept4(fd=3, flags=0x80000, timeout=none) ..." */
        unsigned h = (unsigned)(a[0] & 0xffff);
        size_t o = 0;
        b1[0] = 0;
        if ((int64_t)a[1] >= 0) o = (size_t)snprintf(b1, sizeof b1, "fd=%" PRId64 ", ", (int64_t)a[1]);
        enum family f = family(h);
        if (f == F_TRANSFER)
            o += (size_t)snprintf(b1 + o, sizeof b1 - o, "%" PRIu64 ", ", a[2]);
        else if (f == F_FLAGS)
            o += (size_t)snprintf(b1 + o, sizeof b1 - o, "flags=0x%" PRIx64 ", ", a[2]);
        else if (a[2])
            o += (size_t)snprintf(b1 + o, sizeof b1 - o, "arg=%" PRIu64 ", ", a[2]);
        snprintf(b1 + o, sizeof b1 - o, "timeout=%s", a[3] ? dur(a[3], b3, sizeof b3) : "none");
        snprintf(out, cap, "%s(%s) ...", hook(h, b4, sizeof b4), b1);
        break;
    }
    case COROSCOPE_EV_CALL_ADDR:
        snprintf(out, cap, "  address %s", quoted(a[0], b1, sizeof b1));
        break; /* of the line before */
    case COROSCOPE_EV_PREEMPT_SENT: snprintf(out, cap, "preempt signal sent (ran %s)", dur(a[0], b3, sizeof b3)); break;
    case COROSCOPE_EV_PREEMPTED:
        snprintf(out, cap, "preempted at pc 0x%" PRIx64 " (latency %s, %s)", a[0], dur(a[1], b3, sizeof b3),
                 a[2] ? "safe point" : "deferred");
        break;
    case COROSCOPE_EV_PREEMPT_DEFERRED:
        snprintf(out, cap, "preemption deferred (%s) at pc 0x%" PRIx64,
                 a[0] == COROSCOPE_DEFER_RUNTIME_CODE ? "runtime code"
                 : a[0] == COROSCOPE_DEFER_LOCK       ? "lock held"
                 : a[0] == COROSCOPE_DEFER_STACK      ? "no stack room"
                                                      : "?",
                 a[1]);
        break;
    case COROSCOPE_EV_WORKER_IDLE:
        if (a[0])
            snprintf(b1, sizeof b1, "until +%s", dur(a[0] > e->ts ? a[0] - e->ts : 0, b3, sizeof b3));
        else
            snprintf(b1, sizeof b1, "no timer");
        snprintf(out, cap, "idle (%s%s)", b1, a[1] ? ", in the netpoller" : "");
        break;
    case COROSCOPE_EV_WORKER_BUSY:
        snprintf(out, cap, "busy (%s)", a[0] == 0 ? "timer" : a[0] == 1 ? "fd" : a[0] == 2 ? "kicked" : "?");
        break;
    case COROSCOPE_EV_QUEUES:
        snprintf(out, cap,
                 "queues run=%" PRIu64 " spawn=%" PRIu64 " injection=%" PRIu64 " timers=%" PRIu64 " parked=%" PRIu64,
                 a[0], a[1], a[2], a[3], a[4]);
        break;
    case COROSCOPE_EV_DROP:
        snprintf(out, cap, "DROPPED %" PRIu64 " events (ring of tid %" PRIu32 " full) over %s", a[0], e->tid,
                 dur(a[2] > a[1] ? a[2] - a[1] : 0, b3, sizeof b3));
        break;
    case COROSCOPE_EV_OFFCPU:
        snprintf(out, cap, "off CPU %s from %+.3f ms (%s)", dur(a[1], b3, sizeof b3),
                 ((double)a[0] - (double)e->ts) / 1e6,
                 a[2] ? "taken by the OS: CPU contention" : "slept in the kernel");
        break;
    case COROSCOPE_EV_STALL:
        snprintf(out, cap,
                 "STALL worker %" PRIu64 " in syscall %" PRIu64 " fd=%" PRId64 " (type %" PRIu64
                 ") %s (run began %+.3f ms)",
                 a[0], a[1] & 0xffffffffu, (int64_t)a[2], a[1] >> 32, quoted(a[3], b1, sizeof b1),
                 ((double)a[4] - (double)e->ts) / 1e6);
        break;
    case COROSCOPE_EV_STALL_END:
        snprintf(out, cap, "stall ended: worker %" PRIu64 " syscall %" PRIu64 " fd=%" PRId64 " after %s", a[0], a[1],
                 (int64_t)a[2], dur(a[3], b3, sizeof b3));
        break;
    case COROSCOPE_EV_CO_STACK:
        snprintf(out, cap, "stack (%s, %" PRIu64 " frames, %s) %s",
                 a[1] == COROSCOPE_STACK_PARK        ? "parked"
                 : a[1] == COROSCOPE_STACK_PREEMPT   ? "preempted"
                 : a[1] == COROSCOPE_STACK_ON_DEMAND ? "on demand"
                                                     : "deferred preemption",
                 a[2], a[3] == 2 ? "unwinder" : "frame pointers", quoted(a[0], b1, sizeof b1));
        break;
    case COROSCOPE_EV_MAPPING:
        snprintf(out, cap, "mapping 0x%" PRIx64 "-0x%" PRIx64 " bias 0x%" PRIx64 " %s", a[0], a[1], a[2],
                 quoted(a[3], b1, sizeof b1));
        break;
    case COROSCOPE_EV_FD_DESC:
    case COROSCOPE_EV_FD_CLOSE:
    case COROSCOPE_EV_WAKER: dump_fd_render(e, out, cap, quoted); break;
    default: snprintf(out, cap, "kind %u", e->kind); break;
    }
}

/* One event as a line: relative time, thread/worker, coroutine, what. */
static void print_event(const coroscope_event *ev, uint64_t *base, int *have_base)
{
    coroscope_event e = *ev;
    char line[1024];
    if (!*have_base && e.ts) {
        *base = e.ts;
        *have_base = 1;
    }
    if (e.kind == COROSCOPE_EV_CO_CREATE || (e.kind == COROSCOPE_EV_CO_INFO && !name_get(e.co))) name_set(e.co, e.a[1]);
    uint64_t mag = e.ts >= *base ? e.ts - *base : *base - e.ts;
    char thr[32], co[300], nm[256];
    if (e.worker == COROSCOPE_NO_WORKER)
        snprintf(thr, sizeof thr, "t%" PRIu32, e.tid);
    else
        snprintf(thr, sizeof thr, "w%u", e.worker);
    uint64_t name = name_get(e.co);
    if (!e.co)
        snprintf(co, sizeof co, "-");
    else if (name)
        snprintf(co, sizeof co, "co#%" PRIu64 " %s", e.co, quoted(name, nm, sizeof nm));
    else
        snprintf(co, sizeof co, "co#%" PRIu64, e.co);
    render(&e, line, sizeof line);
    printf("%s%" PRIu64 ".%06" PRIu64 " %s %s %s\n", e.ts < *base ? "-" : "", mag / 1000000000, mag % 1000000000 / 1000,
           thr, co, line);
}

int live_main(int pid, double seconds, void (*print)(const coroscope_event *, uint64_t *, int *), cs_reader *strings);

int list_main(void);

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--list")) return list_main();
    if (argc >= 3 && !strcmp(argv[1], "--pid")) {
        double secs = argc >= 5 && !strcmp(argv[3], "--seconds") ? atof(argv[4]) : 0;
        cs_reader *live = cs_reader_new_live();
        if (!live) return 1;
        rd = live;
        int rc = live_main(atoi(argv[2]), secs, print_event, live);
        cs_reader_close(live);
        free(names);
        return rc;
    }
    if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fprintf(stderr, "usage: coroscope-dump FILE\n"
                        "       coroscope-dump --pid PID [--seconds S]   (a live engine process)\n"
                        "       coroscope-dump --list                    (engine processes of this user)\n");
        return 2;
    }
    const char *path = argv[1];
    cs_reader *r;
    cs_trace_err err;
    if (cs_reader_open_path(&r, path, CS_READ_SKIP_UNKNOWN | CS_READ_SKIP_STRINGS, &err)) {
        if (err.code == CS_TRACE_EIO)
            fprintf(stderr, "coroscope-dump: %s\n", err.msg); /* already "path: reason" */
        else
            fprintf(stderr, "coroscope-dump: %s: %s\n", path, err.msg);
        return 1;
    }
    rd = r;
    const cs_trace_info *in = cs_reader_info(r);
    printf("# coroscope trace: pid %" PRIu32 ", format %u.%u, events v%" PRIu32 ", %s\n", in->pid, in->version_major,
           in->version_minor, in->events_version,
           in->has_index ? "closed cleanly" : "no index (the writer did not close it)");
    coroscope_event e;
    uint64_t base = 0;
    int have_base = 0;
    while (cs_reader_next(r, &e) == 1) print_event(&e, &base, &have_base);
    fflush(stdout);
    const cs_trace_err *st = cs_reader_status(r);
    int rc = 0;
    if (st->code) {
        fprintf(stderr, "coroscope-dump: %s: %s\n", path, st->msg);
        rc = 1;
    }
    cs_reader_close(r);
    free(names);
    return rc;
}
